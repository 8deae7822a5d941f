package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/login"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/idp"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// newProviders builds the identity providers of the configuration file (a
// provider whose discovery fails keeps retrying in the background and
// shows as unavailable) and, with secrets.key set, those administrators
// add from the panel, into the registry that keeps them current.
func (s *Server) newProviders(ctx context.Context, d *deps) error {
	lookup := config.EnvLookup(s.environ)
	keys, err := secretsKeyring(d.cfg.Secrets, lookup)
	if err != nil {
		return err
	}
	build := func(ctx context.Context, pc providers.Config, clientSecret string) (providers.Provider, error) {
		return providers.New(ctx, pc, providers.Options{
			ClientSecret: clientSecret,
			RedirectURL:  sso.CallbackURL(d.publicURL, pc.ID),
			HTTPClient:   &http.Client{Timeout: 10 * time.Second},
			Now:          d.now,
			Logger:       d.logger.With("provider", pc.ID),
		})
	}
	var static []idp.Entry
	for i, pc := range d.cfg.Providers {
		secret, err := pc.ClientSecret.Resolve(lookup)
		if err != nil {
			return fmt.Errorf("providers[%d].client_secret: %w", i, err)
		}
		p, err := build(ctx, pc, secret)
		if err != nil {
			return fmt.Errorf("providers[%d]: %w", i, err)
		}
		s.providers = append(s.providers, p)
		static = append(static, idp.Entry{Config: pc, Provider: p, SecretSet: pc.ClientSecret.IsSet()})
	}
	s.IDP = idp.New(ctx, static, d.store, keys, build, d.logger)
	if keys != nil {
		if err := s.IDP.Reload(ctx); err != nil {
			return fmt.Errorf("identity providers: %w", err)
		}
		// Sign-out and test sign-ins continue at a provider's origin from
		// a form, which the pages' CSP must allow for stored providers too.
		formActions := func() {
			cfg := d.cfg
			cfg.Providers = slices.Clone(cfg.Providers)
			for _, e := range s.IDP.Entries() {
				if e.Source == idp.SourceAdmin {
					cfg.Providers = append(cfg.Providers, e.Config)
				}
			}
			d.renderer.SetFormAction(formActionSources(cfg)...)
		}
		formActions()
		s.IDP.Watch(formActions)
	}
	s.live.Store(s.IDP)
	return nil
}

// anyProviders reports whether a provider can ever sign anyone in without
// a restart: one is configured, or they can be added from the panel.
func (s *Server) anyProviders() bool {
	return len(s.providers) > 0 || s.IDP.Keyring() != nil
}

// newSSO builds the sign-in flow, back-channel logout and the admin
// panel's test sign-ins, rebuilt whenever the set of providers changes
// (see liveSSO); nothing when no provider can exist.
func (s *Server) newSSO(d *deps) []mounter {
	if !s.anyProviders() {
		return nil
	}
	live := &liveSSO{build: func(list []providers.Provider, jit map[string]config.JIT) (*sso.Handler, *sso.BackChannel) {
		return s.ssoHandlers(d, list, jit)
	}, registry: s.IDP}
	s.trial = &sso.Trial{Store: d.store, Now: d.now, Rand: rand.Reader}
	live.trial, live.trialCallback = s.trial, s.finishTrial(d, live)
	live.rebuild()
	s.IDP.Watch(live.rebuild)
	return []mounter{live}
}

// ssoHandlers builds the sign-in flow and back-channel logout for the
// providers running now.
func (s *Server) ssoHandlers(d *deps, list []providers.Provider, jit map[string]config.JIT) (*sso.Handler, *sso.BackChannel) {
	h := sso.New(sso.Deps{
		Providers: list, JIT: jit, Store: signInObserver{Store: d.store, reg: s.IDP},
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
	return h, backChannel
}

// loginButtons lists the SSO buttons of the sign-in page, the providers
// running now with each one's status; nil when no provider can exist.
func (s *Server) loginButtons() func() []login.ProviderButton {
	if !s.anyProviders() {
		return nil
	}
	return func() []login.ProviderButton {
		list := s.IDP.Running()
		buttons := make([]login.ProviderButton, 0, len(list))
		for _, p := range list {
			buttons = append(buttons, login.ProviderButton{ID: p.ID(), Name: p.DisplayName(), Available: p.Status().State == providers.StateReady})
		}
		return buttons
	}
}

// endSessionURL sends the browser, after an SSO session ends, to its
// provider's end-session endpoint when the provider has one; nil when no
// provider can exist.
func (s *Server) endSessionURL(d *deps) func(store.Session) (string, bool) {
	if !s.anyProviders() {
		return nil
	}
	loginURL := d.publicURL.String() + "/.gatehouse/login?notice=logged_out"
	return func(sess store.Session) (string, bool) {
		e, ok := s.IDP.Entry(sess.IDP)
		if !ok || e.Provider == nil {
			return "", false
		}
		if lp, ok := e.Provider.(providers.LogoutProvider); ok {
			return lp.EndSessionURL(sess.IDTokenHint, loginURL)
		}
		return "", false
	}
}
