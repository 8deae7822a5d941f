package server

import (
	"crypto/rand"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/admin/panel"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/internal/idp"
)

// newAdmin builds the process's one admin service and its two transports,
// the JSON API (/.gatehouse/api/v1/) and the HTML panel (/.gatehouse/admin/).
// Invitations
// are mailed through rst; passkeys does the passkey and workstation
// operations.
func (s *Server) newAdmin(d *deps, rst *reset.Handler, passkeys *passkey.Handler) []mounter {
	integrations := s.integrations(d)
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
		Providers:          func() []adminsvc.ProviderStatus { return providerStatuses(s.IDP, integrations) },
		Integrations:       integrations,
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

// providerStatuses is the read-only view of the identity providers and
// how their discovery fares.
func providerStatuses(reg *idp.Registry, in *adminsvc.Integrations) []adminsvc.ProviderStatus {
	entries := reg.Entries()
	out := make([]adminsvc.ProviderStatus, 0, len(entries))
	for _, e := range entries {
		out = append(out, in.View(e).ProviderStatus)
	}
	return out
}
