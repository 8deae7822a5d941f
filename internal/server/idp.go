package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/idp"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// providerResync rereads the stored providers now and then, in case a
// change announced while the invalidation bus was down never arrived.
const providerResync = 30 * time.Second

// secretsKeyring resolves secrets.key and secrets.previous_keys; nil
// when no key is set (providers added from the panel are then off).
func secretsKeyring(c config.Secrets, lookup func(string) (string, bool)) (*secret.Keyring, error) {
	if !c.Key.IsSet() {
		return nil, nil
	}
	read := func(path string, v config.Secret) ([]byte, error) {
		raw, err := v.Resolve(lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		k, err := secret.ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	current, err := read("secrets.key", c.Key)
	if err != nil {
		return nil, err
	}
	var previous [][]byte
	for i, v := range c.PreviousKeys {
		k, err := read(fmt.Sprintf("secrets.previous_keys[%d]", i), v)
		if err != nil {
			return nil, err
		}
		previous = append(previous, k)
	}
	return secret.NewKeyring(current, previous, nil)
}

// SecretsKeyring is secretsKeyring for the command line (`gatehouse
// secrets rotate`).
func SecretsKeyring(c config.Secrets, environ []string) (*secret.Keyring, error) {
	return secretsKeyring(c, config.EnvLookup(environ))
}

// liveSSO serves the SSO routes with handlers built for the providers
// running now, swapped whole when the set changes, so a request is served
// by one consistent set and a provider added, changed or disabled on any
// replica takes effect here without a restart.
type liveSSO struct {
	build    func([]providers.Provider, map[string]config.JIT) (*sso.Handler, *sso.BackChannel)
	registry *idp.Registry
	current  atomic.Pointer[liveHandlers]
	// trial and trialCallback finish the admin panel's test sign-ins,
	// which come back through the provider's one registered callback.
	trial         *sso.Trial
	trialCallback http.HandlerFunc
}

type liveHandlers struct {
	mux *http.ServeMux
	sso *sso.Handler
}

func (l *liveSSO) rebuild() {
	h, bc := l.build(l.registry.Running(), l.registry.JIT())
	mux := http.NewServeMux()
	h.Mount(mux)
	bc.Mount(mux)
	l.current.Store(&liveHandlers{mux: mux, sso: h})
}

// Mount registers the routes the sso handlers serve.
func (l *liveSSO) Mount(mux *http.ServeMux) {
	serve := func(w http.ResponseWriter, r *http.Request) { l.current.Load().mux.ServeHTTP(w, r) }
	mux.HandleFunc("GET /.gatehouse/sso/{provider}/start", serve)
	mux.HandleFunc("GET /.gatehouse/sso/{provider}/callback", func(w http.ResponseWriter, r *http.Request) {
		if l.trial != nil && l.trial.Owns(r) {
			l.trialCallback(w, r)
			return
		}
		serve(w, r)
	})
	mux.HandleFunc("POST /.gatehouse/sso/{provider}/backchannel-logout", serve)
}

// finishTrial ends a test sign-in in the browser of the administrator
// who started it: the result goes to the panel, and no session starts.
func (s *Server) finishTrial(d *deps, l *liveSSO) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		pid := r.PathValue("provider")
		sess, err := s.Sessions.Lookup(ctx, r)
		if err != nil {
			d.renderer.FailKey(w, r, http.StatusForbidden, "sso.trial.other_browser")
			return
		}
		rid, res, err := l.trial.Finish(ctx, r, sess.AccountID, func(id string) (providers.Provider, bool) {
			p, err := s.IDP.Tester(id)
			return p, err == nil
		}, l.current.Load().sso.Preview)
		if errors.Is(err, sso.ErrTrialNotYours) {
			d.renderer.FailKey(w, r, http.StatusForbidden, "sso.trial.other_browser")
			return
		}
		if err != nil {
			d.logger.Error("test sign-in", "provider", pid, "err", err)
			d.renderer.FailKey(w, r, http.StatusServiceUnavailable, "sso.trial.unrecorded")
			return
		}
		outcome := "ok"
		if res.Failed != "" {
			outcome = "error"
		}
		e := store.AuditEvent{Time: d.now().UTC(), Actor: sess.AccountID, Action: "provider.test", Target: pid, IP: d.clientIP(r),
			Outcome: outcome, Category: "integration", Details: map[string]any{"subject": res.Subject, "decision": res.Decision.Outcome,
				"account": res.Decision.AccountID, "failed": res.Failed, "session_started": false}}
		if ms, err := d.store.ListMemberships(ctx, sess.AccountID); err == nil {
			e = e.In(store.CompaniesOf(ms)...)
		}
		if err := d.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
			d.logger.Error("test sign-in: audit append failed", "err", err)
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, d.publicURL.String()+"/.gatehouse/admin/providers/"+url.PathEscape(pid)+"/test/"+url.PathEscape(rid), http.StatusSeeOther)
	}
}

// reloadProviders rebuilds the providers after changes to stored ones.
func (s *Server) reloadProviders(ctx context.Context) {
	reg := s.live.Load()
	if reg == nil || reg.Keyring() == nil {
		return
	}
	if err := reg.Reload(ctx); err != nil && ctx.Err() == nil {
		s.logger.Error("reloading identity providers failed", "err", err)
	}
}

// providerChanges splits the stored providers' changes from account data's.
func providerChanges(changes []store.Change) (accountData []store.Change, providers bool) {
	for _, c := range changes {
		if c.Provider != "" {
			providers = true
			continue
		}
		accountData = append(accountData, c)
	}
	return accountData, providers
}

// integrations is what the admin service manages identity providers with.
func (s *Server) integrations(d *deps) *adminsvc.Integrations {
	client := &http.Client{Timeout: 10 * time.Second}
	return &adminsvc.Integrations{
		Registry: s.IDP,
		Check: func(ctx context.Context, cfg providers.Config) providers.CheckResult {
			return providers.Check(ctx, cfg, client)
		},
		EndSessions: s.Sessions.EndAllProviderSessions,
		StartTest: func(ctx context.Context, accountID, providerID string) (string, error) {
			if s.trial == nil {
				return "", fmt.Errorf("%w: no identity provider can run here", apperr.ErrUnavailable)
			}
			p, err := s.IDP.Tester(providerID)
			if err != nil {
				return "", err
			}
			return s.trial.Start(ctx, p, accountID)
		},
		TestResult: func(ctx context.Context, accountID, resultID string) (sso.TrialResult, error) {
			if s.trial == nil {
				return sso.TrialResult{}, fmt.Errorf("test sign-in result: %w", store.ErrNotFound)
			}
			return s.trial.Result(ctx, accountID, resultID)
		},
		EndSessionsOnDisable: d.cfg.SSO.OnDisable != config.OnDisableKeep,
		Health: func(id string) adminsvc.ProviderHealth {
			h := s.IDP.Health(id)
			return adminsvc.ProviderHealth{LastSuccess: h.LastSuccess, LastFailure: h.LastFailure, FailureReason: h.FailureReason,
				DiscoveryOK: h.DiscoveryOK, JWKSOK: h.JWKSOK}
		},
		PublicURL: d.publicURL.String(),
	}
}

// RotateSecrets seals every stored secret that another key sealed again
// under keys' current one, in one transaction, and returns how many it
// resealed. A secret none of keys opens stops the rotation: nothing is
// changed and the error names the provider.
func RotateSecrets(ctx context.Context, st store.Store, keys *secret.Keyring) (int, error) {
	n := 0
	err := st.InTx(ctx, func(tx store.Store) error {
		n = 0
		recs, err := tx.ListProviders(ctx)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if rec.Secret == "" {
				continue
			}
			if id, err := secret.SealedKeyID(rec.Secret); err == nil && id == keys.CurrentID() {
				continue
			}
			plain, err := keys.Open(rec.Secret, rec.ID)
			if err != nil {
				return fmt.Errorf("provider %s: %w (is its key in secrets.previous_keys?)", rec.ID, err)
			}
			if rec.Secret, err = keys.Seal(plain, rec.ID); err != nil {
				return err
			}
			rec.UpdatedAt = time.Now()
			if err := tx.UpdateProvider(ctx, rec); err != nil {
				return err
			}
			n++
		}
		return tx.AppendAudit(ctx, store.AuditEvent{Time: time.Now().UTC(), Actor: "cli", Action: "secrets.rotate", Outcome: "ok",
			Category: "admin", Details: map[string]any{"key": keys.CurrentID(), "resealed": n}})
	})
	return n, err
}

// providerProbe is how often every running provider's discovery document
// and key set are fetched for the providers page and the metrics.
const providerProbe = time.Minute

// probeProviders fetches every enabled provider's discovery document and
// key set, and records whether they answer.
func (s *Server) probeProviders(ctx context.Context) {
	reg := s.live.Load()
	if reg == nil {
		return
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, e := range reg.Entries() {
		if !e.Enabled || e.Provider == nil {
			continue
		}
		cfg := e.Config
		if cfg.Issuer == "" {
			cfg.Issuer = e.Provider.Status().Issuer // a vendor's default
		}
		res := providers.Check(ctx, cfg, client)
		if ctx.Err() != nil {
			return
		}
		reg.Probed(e.Config.ID, s.now(), res.DiscoveryOK, res.JWKSOK)
	}
}

// watchProviderHealth probes now, every interval and after every change
// of the providers, until ctx ends.
func (s *Server) watchProviderHealth(ctx context.Context, every time.Duration) {
	changed := make(chan struct{}, 1)
	if reg := s.live.Load(); reg != nil {
		reg.Watch(func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.probeProviders(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		}
	}
}

// providerHealth is the providers' health for the metrics.
func (s *Server) providerHealth() []metrics.ProviderHealth {
	reg := s.live.Load()
	if reg == nil {
		return nil
	}
	var out []metrics.ProviderHealth
	for _, e := range reg.Entries() {
		h := reg.Health(e.Config.ID)
		out = append(out, metrics.ProviderHealth{ID: e.Config.ID, Enabled: e.Enabled && e.Provider != nil,
			DiscoveryOK: h.DiscoveryOK, JWKSOK: h.JWKSOK, LastSuccess: h.LastSuccess, LastFailure: h.LastFailure,
			Successes: h.Successes, Failures: h.Failures})
	}
	return out
}

// signInObserver records, from the audit events the sign-in flow writes,
// each provider's last success and failure.
type signInObserver struct {
	store.Store
	reg *idp.Registry
}

func (o signInObserver) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	provider, _ := e.Details["provider"].(string)
	switch e.Action {
	case "login.success":
		if provider != "" {
			o.reg.SignedIn(provider, e.Time)
		}
	case "sso.failure", "sso.denied", "sso.provider_error":
		if provider != "" {
			reason, _ := e.Details["reason"].(string)
			o.reg.SignInFailed(provider, e.Time, reason)
		}
	}
	return o.Store.AppendAudit(ctx, e)
}
