package server

import (
	"crypto/rand"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
)

// newPasskeys builds passkey sign-in, workstation enrolment and the
// credential operations of the admin service and the account page.
func (s *Server) newPasskeys(d *deps) (*passkey.Handler, error) {
	return passkey.New(passkey.Deps{
		PublicURL: d.publicURL,
		Store:     d.store, Credentials: d.store, Networks: passkey.StoreNetworks{Store: d.store}, Sessions: s.Sessions,
		Renderer: d.renderer, CSRF: d.csrf, ClientIP: d.clientIP, Redirect: d.redirect,
		Now: d.now, Rand: rand.Reader, Logger: d.logger,
	})
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
