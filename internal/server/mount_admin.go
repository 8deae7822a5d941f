package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/providers"
)

// mountAdmin wires the admin JSON API (/.gatehouse/api/v1/). It runs after
// mountReset and mountSSO, whose invitation sender and providers the admin
// service uses.
func (s *Server) mountAdmin(ctx context.Context, mux *http.ServeMux, d *deps) error {
	g := s.adminGuard(d)
	(&api.Handler{Service: g.Service, Sessions: s.Sessions, CSRF: d.csrf, ClientIP: d.clientIP, Logger: d.logger}).Mount(mux)
	return nil
}

// adminGuard is the process's one admin service and its authorization
// (a session plus the CSRF header, or an API token; capabilities from the
// role model), shared by the JSON API, the HTML panel and every feature
// that serves admin routes of its own (passkeys, properties), so they all
// decide and record alike. Built by the first mount that asks, which must
// run after mountReset and mountSSO.
func (s *Server) adminGuard(d *deps) *api.Guard {
	if s.admin != nil {
		return s.admin
	}
	svc := &api.Service{
		Store:    d.store,
		Accounts: s.Accounts,
		Policy:   authz.Policy{Roles: s.Accounts.Roles()},
		Tokens:   d.store,

		EndSessions:  s.Sessions.EndAccount,
		ListSessions: s.Sessions.List,
		EndSession:   s.Sessions.EndAccountSession,

		Providers:  func() []api.ProviderStatus { return s.providerStatuses(d) },
		Properties: s.rulesService(d),
		Now:        d.now,
		Rand:       rand.Reader,
		Logger:     d.logger,
	}
	// Without the reset feature, password accounts are created invited and
	// the API says no mail was sent.
	if s.reset != nil {
		svc.SendInvitation = s.reset.SendInvitation
	}
	s.admin = &api.Guard{Service: svc, Sessions: s.Sessions, CSRF: d.csrf, ClientIP: d.clientIP, Logger: d.logger}
	return s.admin
}

// providerStatuses is the read-only view of the configured providers and
// how their discovery fares.
func (s *Server) providerStatuses(d *deps) []api.ProviderStatus {
	live := map[string]providers.Provider{}
	for _, p := range s.providers {
		live[p.ID()] = p
	}
	out := make([]api.ProviderStatus, 0, len(d.cfg.Providers))
	for _, c := range d.cfg.Providers {
		ps := api.ProviderStatus{ID: c.ID, Type: c.Type, DisplayName: c.DisplayName, Issuer: c.Issuer, Status: "not_started", JIT: c.JIT.Enabled}
		if p, ok := live[c.ID]; ok {
			st := p.Status()
			ps.DisplayName, ps.Status, ps.Detail = p.DisplayName(), st.State, st.LastError
		}
		if ps.DisplayName == "" {
			ps.DisplayName = c.ID
		}
		out = append(out, ps)
	}
	return out
}
