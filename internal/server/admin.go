package server

import (
	"crypto/rand"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/admin/panel"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/providers"
)

// newAdmin builds the process's one admin service and its two transports,
// the JSON API (/.gatehouse/api/v1/) and the HTML panel (/.gatehouse/admin/).
// Invitations
// are mailed through rst; passkeys does the passkey and workstation
// operations.
func (s *Server) newAdmin(d *deps, rst *reset.Handler, passkeys *passkey.Handler) []mounter {
	svc := &adminsvc.Service{
		Store:          d.store,
		Accounts:       s.Accounts,
		Policy:         authz.Policy{Roles: s.Accounts.Roles()},
		Sessions:       s.Sessions,
		Rules:          s.Rules,
		Passkeys:       passkeys,
		Tokens:         d.store,
		SendInvitation: rst.SendInvitation,
		InvitationLimits: adminsvc.InvitationLimits{
			PerAdmin: d.cfg.Limits.InvitationsPerAdmin, PerCompany: d.cfg.Limits.InvitationsPerCompany,
		},
		// An email change and an existing account added to a company are
		// told to the person concerned.
		NotifyEmailChanged: rst.NotifyEmailChanged,
		NotifyAdded:        rst.NotifyAdded,
		Providers:          func() []adminsvc.ProviderStatus { return s.providerStatuses(d) },
		Now:                d.now,
		Rand:               rand.Reader,
		Logger:             d.logger,
	}
	jsonAPI := api.New(api.Deps{Service: svc, CSRF: d.csrf, Catalog: d.renderer.Catalog, ClientIP: d.clientIP, MaxImport: d.cfg.Limits.ImportMaxBytes, Logger: d.logger})
	html := panel.New(panel.Deps{
		Service: svc, Renderer: d.renderer, CSRF: d.csrf, ClientIP: d.clientIP,
		MaxFormBytes: d.cfg.Limits.MaxFormBytes, MaxImport: d.cfg.Limits.ImportMaxBytes, Logger: d.logger,
		PasskeysOn: passkeys.Enabled(),
	})
	return []mounter{jsonAPI, html}
}

// providerStatuses is the read-only view of the configured providers and
// how their discovery fares.
func (s *Server) providerStatuses(d *deps) []adminsvc.ProviderStatus {
	live := map[string]providers.Provider{}
	for _, p := range s.providers {
		live[p.ID()] = p
	}
	out := make([]adminsvc.ProviderStatus, 0, len(d.cfg.Providers))
	for _, c := range d.cfg.Providers {
		ps := adminsvc.ProviderStatus{ID: c.ID, Type: c.Type, DisplayName: c.DisplayName, Issuer: c.Issuer, Status: "not_started", JIT: c.JIT.Enabled}
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
