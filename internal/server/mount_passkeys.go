package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mountPasskeys wires passkey sign-in, the account page, workstation
// enrolment and the admin credential endpoints, and binds enrolled shared
// accounts to their workstation by blocking their password.
func (s *Server) mountPasskeys(ctx context.Context, mux *http.ServeMux, d *deps) error {
	h, err := passkey.New(passkey.Options{PublicURL: d.publicURL})
	if err != nil {
		return err
	}
	// Until every store backend implements store.Credentials, passkeys
	// fall back to memory (lost on restart), loudly.
	creds, ok := d.store.(store.Credentials)
	if !ok {
		d.logger.Warn("passkeys: the store has no credentials table yet; passkeys are kept in memory only")
		creds = &passkey.MemoryCredentials{}
	}
	networks, ok := d.store.(passkey.Networks)
	if !ok {
		networks = &passkey.MemoryNetworks{}
	}
	h.Store = d.store
	h.Credentials = creds
	h.Networks = networks
	h.Sessions = s.Sessions
	h.IsAdmin = func(ctx context.Context, accountID string) (bool, error) {
		ms, err := s.Accounts.Memberships(ctx, accountID)
		if err != nil {
			return false, err
		}
		for _, m := range ms {
			if s.Accounts.Roles().IsAdmin(m.Role) {
				return true, nil
			}
		}
		return false, nil
	}
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
