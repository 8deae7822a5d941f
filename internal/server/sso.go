package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/providers"
)

// newSSO builds the configured identity providers (a provider whose
// discovery fails keeps retrying in the background and shows as
// unavailable) and builds the sign-in flow, the login buttons,
// RP-initiated logout and back-channel logout.
func (s *Server) newSSO(ctx context.Context, d *deps) ([]mounter, error) {
	if len(d.cfg.Providers) == 0 {
		return nil, nil
	}
	lookup := config.EnvLookup(s.environ)
	var list []providers.Provider
	byID := map[string]providers.Provider{}
	jit := map[string]config.JIT{}
	for i, pc := range d.cfg.Providers {
		secret, err := pc.ClientSecret.Resolve(lookup)
		if err != nil {
			return nil, fmt.Errorf("providers[%d].client_secret: %w", i, err)
		}
		p, err := providers.New(ctx, pc, providers.Options{
			ClientSecret: secret,
			RedirectURL:  sso.CallbackURL(d.publicURL, pc.ID),
			HTTPClient:   &http.Client{Timeout: 10 * time.Second},
			Now:          d.now,
			Logger:       d.logger.With("provider", pc.ID),
		})
		if err != nil {
			return nil, fmt.Errorf("providers[%d]: %w", i, err)
		}
		list = append(list, p)
		byID[pc.ID] = p
		if pc.JIT.Enabled {
			jit[pc.ID] = pc.JIT
		}
	}
	s.providers = list

	h := sso.New(sso.Deps{
		Providers: list, JIT: jit, Store: d.store,
		StartSession: func(w http.ResponseWriter, r *http.Request, in sso.SignIn) error {
			_, err := s.Sessions.Start(r.Context(), w, r, session.StartParams{
				AccountID: in.AccountID, AMR: in.AMR, IDP: in.IDP, IDTokenHint: in.IDTokenHint, Shared: in.Shared,
				UserAgent: r.UserAgent(), IP: d.clientIP(r),
				ProviderSID: in.ProviderSID, ProviderSubject: in.ProviderSubject,
			})
			return err
		},
		ValidateRedirect: d.redirect,
		RenderError:      d.renderer.FailKey,
		RoleExists: func(role string) bool {
			_, ok := s.Accounts.Roles().Role(role)
			return ok
		},
		Accounts: s.Accounts,
		ClientIP: d.clientIP, Refused: s.Metrics.Refused, PublicURL: d.publicURL, Now: d.now, Rand: rand.Reader, Logger: d.logger,
	})
	// Every provider's logout tokens are accepted: each is verified with
	// that provider's keys and names only sessions it started.
	backChannel := sso.NewBackChannel(sso.BackChannelDeps{
		Providers: list, Used: d.store, Audit: d.store, Throttle: d.store, EndSessions: s.Sessions.EndProviderSessions,
		MaxBodyBytes: d.cfg.Limits.MaxFormBytes, ClientIP: d.clientIP, Refused: s.Metrics.Refused, Now: d.now, Logger: d.logger,
	})

	d.login.Providers = func() []web.ProviderButton {
		buttons := make([]web.ProviderButton, 0, len(list))
		for _, p := range list {
			buttons = append(buttons, web.ProviderButton{ID: p.ID(), Name: p.DisplayName(), Available: p.Status().State == providers.StateReady})
		}
		return buttons
	}
	loginURL := d.publicURL.String() + "/.gatehouse/login?notice=logged_out"
	d.logout.EndSessionURL = func(sess store.Session) (string, bool) {
		p, ok := byID[sess.IDP]
		if !ok {
			return "", false
		}
		if lp, ok := p.(providers.LogoutProvider); ok {
			return lp.EndSessionURL(sess.IDTokenHint, loginURL)
		}
		return "", false
	}
	return []mounter{h, backChannel}, nil
}
