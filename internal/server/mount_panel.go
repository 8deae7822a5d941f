package server

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/panel"
)

// mountPanel wires the HTML admin panel (/.gatehouse/admin/) over the admin
// API's Guard and service, the passkey handler and the rules service, and
// the terms-of-use interstitial the gate sends people to. It runs after
// mountAdmin and mountPasskeys, whose service and handler it shares.
func (s *Server) mountPanel(ctx context.Context, mux *http.ServeMux, d *deps) error {
	var passkeys panel.Passkeys
	if s.passkeys != nil {
		passkeys = s.passkeys
	}
	panel.New(s.adminGuard(d), passkeys, s.rulesService(d), d.renderer, d.csrf, d.cfg.Limits.MaxFormBytes, d.logger).Mount(mux)

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
