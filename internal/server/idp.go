package server

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/idp"
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
	mux      atomic.Pointer[http.ServeMux]
}

func (l *liveSSO) rebuild() {
	h, bc := l.build(l.registry.Running(), l.registry.JIT())
	mux := http.NewServeMux()
	h.Mount(mux)
	bc.Mount(mux)
	l.mux.Store(mux)
}

// Mount registers the routes the sso handlers serve.
func (l *liveSSO) Mount(mux *http.ServeMux) {
	serve := func(w http.ResponseWriter, r *http.Request) { l.mux.Load().ServeHTTP(w, r) }
	mux.HandleFunc("GET /.gatehouse/sso/{provider}/start", serve)
	mux.HandleFunc("GET /.gatehouse/sso/{provider}/callback", serve)
	mux.HandleFunc("POST /.gatehouse/sso/{provider}/backchannel-logout", serve)
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

// resyncProviders rereads the stored providers every interval until ctx ends.
func (s *Server) resyncProviders(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reloadProviders(ctx)
		}
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
		EndSessions:          s.Sessions.EndAllProviderSessions,
		EndSessionsOnDisable: d.cfg.SSO.OnDisable != config.OnDisableKeep,
		PublicURL:            d.publicURL.String(),
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
