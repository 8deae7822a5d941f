package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
)

// mountPasskeys wires passkey sign-in, the account page, workstation
// enrolment and the admin credential endpoints, and binds enrolled shared
// accounts to their workstation by blocking their password.
func (s *Server) mountPasskeys(ctx context.Context, mux *http.ServeMux, d *deps) error {
	h, err := passkey.New(passkey.Options{PublicURL: d.publicURL})
	if err != nil {
		return err
	}
	h.Store = d.store
	h.Credentials = d.store
	h.Networks = passkey.StoreNetworks{Store: d.store}
	h.Sessions = s.Sessions
	h.Admin = s.adminGuard(d)
	h.Renderer = d.renderer
	h.CSRF = d.csrf
	h.ClientIP = d.clientIP
	h.Redirect = d.redirect
	h.ProviderName = s.providerName
	h.Now = d.now
	h.Rand = rand.Reader
	h.Logger = d.logger
	h.Mount(mux)
	d.login.PasswordBlocked = h.PasswordBlocked
	d.login.PasskeysOff = !h.Enabled()
	// The admin panel lists, revokes and enrols through the same handler.
	s.passkeys = h
	return nil
}

// providerName is the display name of a configured identity provider, ""
// for one that is not configured (any more). It runs after mountSSO.
func (s *Server) providerName(id string) string {
	for _, p := range s.providers {
		if p.ID() == id {
			return p.DisplayName()
		}
	}
	return ""
}
