package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/login"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// newProviders builds the configured identity providers; a provider
// whose discovery fails keeps retrying in the background and shows as
// unavailable.
func (s *Server) newProviders(ctx context.Context, d *deps) error {
	lookup := config.EnvLookup(s.environ)
	for i, pc := range d.cfg.Providers {
		secret, err := pc.ClientSecret.Resolve(lookup)
		if err != nil {
			return fmt.Errorf("providers[%d].client_secret: %w", i, err)
		}
		p, err := providers.New(ctx, pc, providers.Options{
			ClientSecret: secret,
			RedirectURL:  sso.CallbackURL(d.publicURL, pc.ID),
			HTTPClient:   &http.Client{Timeout: 10 * time.Second},
			Now:          d.now,
			Logger:       d.logger.With("provider", pc.ID),
		})
		if err != nil {
			return fmt.Errorf("providers[%d]: %w", i, err)
		}
		s.providers = append(s.providers, p)
	}
	return nil
}

// newSSO builds the sign-in flow through the providers and back-channel
// logout; nothing when no provider is configured.
func (s *Server) newSSO(d *deps) []mounter {
	if len(s.providers) == 0 {
		return nil
	}
	list := s.providers
	jit := map[string]config.JIT{}
	for _, pc := range d.cfg.Providers {
		if pc.JIT.Enabled {
			jit[pc.ID] = pc.JIT
		}
	}
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
	return []mounter{h, backChannel}
}

// loginButtons lists the SSO buttons of the sign-in page with each
// provider's status now; nil when no provider is configured.
func (s *Server) loginButtons() func() []login.ProviderButton {
	if len(s.providers) == 0 {
		return nil
	}
	list := s.providers
	return func() []login.ProviderButton {
		buttons := make([]login.ProviderButton, 0, len(list))
		for _, p := range list {
			buttons = append(buttons, login.ProviderButton{ID: p.ID(), Name: p.DisplayName(), Available: p.Status().State == providers.StateReady})
		}
		return buttons
	}
}

// endSessionURL sends the browser, after an SSO session ends, to its
// provider's end-session endpoint when the provider has one; nil when no
// provider is configured.
func (s *Server) endSessionURL(d *deps) func(store.Session) (string, bool) {
	if len(s.providers) == 0 {
		return nil
	}
	byID := map[string]providers.Provider{}
	for _, p := range s.providers {
		byID[p.ID()] = p
	}
	loginURL := d.publicURL.String() + "/.gatehouse/login?notice=logged_out"
	return func(sess store.Session) (string, bool) {
		p, ok := byID[sess.IDP]
		if !ok {
			return "", false
		}
		if lp, ok := p.(providers.LogoutProvider); ok {
			return lp.EndSessionURL(sess.IDTokenHint, loginURL)
		}
		return "", false
	}
}
