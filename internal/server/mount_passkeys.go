package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
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
	h.OnSessionsEnded = s.Gate.ForgetSessions
	h.Now = d.now
	h.Rand = rand.Reader
	h.Logger = d.logger
	h.Mount(mux)
	d.login.PasswordBlocked = h.PasswordBlocked
	return nil
}

// adminGuard is the admin API's authorization (session plus CSRF header,
// or an API token; capabilities from the role model) for features that
// serve their own routes under /.gatehouse/api/v1/.
func (s *Server) adminGuard(d *deps) *api.Guard {
	svc := &api.Service{
		Store:    d.store,
		Accounts: s.Accounts,
		Policy:   authz.Policy{Roles: s.Accounts.Roles()},
		Tokens:   d.store,
		Now:      d.now,
		Rand:     rand.Reader,
		Logger:   d.logger,
	}
	return &api.Guard{Service: svc, Sessions: s.Sessions, CSRF: d.csrf, ClientIP: d.clientIP, Logger: d.logger}
}
