package server

import (
	"crypto/rand"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
)

// newPasskeys builds passkey sign-in, the account page, workstation
// enrolment and the credential operations of the admin service, and binds
// enrolled shared accounts to their workstation by blocking their password.
func (s *Server) newPasskeys(d *deps) (*passkey.Handler, error) {
	h, err := passkey.New(passkey.Options{PublicURL: d.publicURL})
	if err != nil {
		return nil, err
	}
	h.Store = d.store
	h.Credentials = d.store
	h.Networks = passkey.StoreNetworks{Store: d.store}
	h.Sessions = s.Sessions
	h.Renderer = d.renderer
	h.CSRF = d.csrf
	h.ClientIP = d.clientIP
	h.Redirect = d.redirect
	h.Now = d.now
	h.Rand = rand.Reader
	h.Logger = d.logger
	d.login.PasswordBlocked = h.PasswordBlocked
	d.login.PasskeysOff = !h.Enabled()
	return h, nil
}

// providerName is the display name of a configured identity provider, ""
// for one that is not configured (any more).
func (s *Server) providerName(id string) string {
	for _, p := range s.providers {
		if p.ID() == id {
			return p.DisplayName()
		}
	}
	return ""
}
