package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/admin/panel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mountPanel wires the HTML admin panel (/.gatehouse/admin/) over the admin
// API's service, and the terms-of-use interstitial the gate sends people to.
func (s *Server) mountPanel(ctx context.Context, mux *http.ServeMux, d *deps) error {
	svc := &api.Service{
		Store:    d.store,
		Accounts: s.Accounts,
		Policy:   authz.Policy{Roles: s.Accounts.Roles()},
		EndSessions: func(ctx context.Context, accountID string) ([]string, error) {
			ids, err := s.Sessions.EndAccount(ctx, accountID)
			s.Gate.ForgetSessions(ids)
			return ids, err
		},
		Providers: func() []api.ProviderStatus { return s.providerStatuses(d) },
		Now:       d.now,
		Rand:      rand.Reader,
		Logger:    d.logger,
	}
	if tokens, ok := d.store.(store.APITokens); ok {
		svc.Tokens = tokens
	}
	if s.reset != nil {
		// mountReset runs first and owns the invitation mail.
		svc.SendInvitation = s.reset.SendInvitation
	}
	panel.New(svc, s.Sessions, d.renderer, d.csrf, d.clientIP, d.cfg.Limits.MaxFormBytes, d.logger).Mount(mux)

	s.Gate.TermsVersion = d.cfg.Terms.Version
	(&panel.Terms{
		Version: d.cfg.Terms.Version, URL: d.cfg.Terms.URL,
		Sessions: s.Sessions, Accounts: d.store, Audit: d.store, Renderer: d.renderer, CSRF: d.csrf,
		Redirect: d.redirect, MaxFormBytes: d.cfg.Limits.MaxFormBytes, ClientIP: d.clientIP,
		Accepted: func(ctx context.Context, accountID string) {
			// Drop the cached "terms" decisions of every session of the
			// account, so its apps open at once.
			sessions, err := d.store.ListAccountSessions(ctx, accountID)
			if err != nil {
				s.Gate.ForgetAll()
				return
			}
			ids := make([]string, len(sessions))
			for i, sess := range sessions {
				ids[i] = sess.ID
			}
			s.Gate.ForgetSessions(ids)
		},
		Now: d.now, Logger: d.logger,
	}).Mount(mux)
	return nil
}
