package idp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// Where a provider comes from.
const (
	SourceConfig = "config" // the configuration file: read-only
	SourceAdmin  = "admin"  // added from the panel or the API
)

// ErrNoKey: runtime providers are off because secrets.key is not set.
var ErrNoKey = errors.New("providers added from the admin panel are off: set secrets.key (32 random bytes, e.g. `openssl rand -base64 32`, given as env: or file:) and restart")

// Entry is one provider as the registry holds it.
type Entry struct {
	Config    providers.Config // ClientSecret is always empty here
	Source    string
	Enabled   bool
	SecretSet bool
	// Provider is the running provider; nil when disabled or when it
	// cannot run (Problem says why).
	Provider  providers.Provider
	Problem   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Build makes a running provider from an entry and its resolved secret.
// ctx ends when the provider is replaced or removed.
type Build func(ctx context.Context, cfg providers.Config, clientSecret string) (providers.Provider, error)

// Registry is the live set of identity providers.
type Registry struct {
	records store.ProviderRecords
	keys    *secret.Keyring // nil: runtime providers are off
	build   Build
	logger  *slog.Logger
	ctx     context.Context

	reloading sync.Mutex // one reload at a time, so none undoes a newer one

	mu      sync.RWMutex
	static  []Entry
	runtime map[string]*runtimeEntry
	watch   []func()

	health healthBook
}

type runtimeEntry struct {
	Entry
	record store.ProviderRecord // what it was built from
	cancel context.CancelFunc
}

// New returns a registry of the configuration's providers (already
// built) and, once Reload has run, of the stored ones. keys nil switches
// the stored ones off. ctx bounds every provider's background work.
func New(ctx context.Context, static []Entry, records store.ProviderRecords, keys *secret.Keyring, build Build, logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for i := range static {
		static[i].Source = SourceConfig
		static[i].Enabled = true
		static[i].Config.ClientSecret = ""
	}
	return &Registry{ctx: ctx, static: static, records: records, keys: keys, build: build, logger: logger, runtime: map[string]*runtimeEntry{}}
}

// Keyring is the key that seals stored secrets; nil when runtime
// providers are off.
func (r *Registry) Keyring() *secret.Keyring { return r.keys }

// Watch calls fn after every reload that changed the set.
func (r *Registry) Watch(fn func()) {
	r.mu.Lock()
	r.watch = append(r.watch, fn)
	r.mu.Unlock()
}

// IsStatic reports whether id is a provider of the configuration file.
func (r *Registry) IsStatic(id string) bool {
	return slices.ContainsFunc(r.static, func(e Entry) bool { return e.Config.ID == id })
}

// Entries lists every provider: the configuration's in file order, then
// the stored ones by id.
func (r *Registry) Entries() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.Clone(r.static)
	for _, id := range r.runtimeIDs() {
		out = append(out, r.runtime[id].Entry)
	}
	return out
}

// Entry returns the provider with id.
func (r *Registry) Entry(id string) (Entry, bool) {
	for _, e := range r.Entries() {
		if e.Config.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Running lists the providers that sign people in now, in Entries' order.
func (r *Registry) Running() []providers.Provider {
	var out []providers.Provider
	for _, e := range r.Entries() {
		if e.Enabled && e.Provider != nil {
			out = append(out, e.Provider)
		}
	}
	return out
}

// JIT is just-in-time account creation of the running providers that turn it on.
func (r *Registry) JIT() map[string]providers.JIT {
	out := map[string]providers.JIT{}
	for _, e := range r.Entries() {
		if e.Enabled && e.Provider != nil && e.Config.JIT.Enabled {
			out[e.Config.ID] = e.Config.JIT
		}
	}
	return out
}

func (r *Registry) runtimeIDs() []string {
	ids := make([]string, 0, len(r.runtime))
	for id := range r.runtime {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Reload reads the stored providers and rebuilds those that changed;
// unchanged ones keep running (and their key caches). Watchers are told
// when anything changed.
func (r *Registry) Reload(ctx context.Context) error {
	r.reloading.Lock()
	defer r.reloading.Unlock()
	recs, err := r.records.ListProviders(ctx)
	if err != nil {
		return err
	}
	r.mu.RLock()
	old := r.runtime
	r.mu.RUnlock()

	next := make(map[string]*runtimeEntry, len(recs))
	var stale []*runtimeEntry
	changed := false
	for _, rec := range recs {
		if prev, ok := old[rec.ID]; ok && sameRecord(prev.record, rec) {
			next[rec.ID] = prev
			continue
		}
		next[rec.ID] = r.make(rec)
		changed = true
		if prev, ok := old[rec.ID]; ok {
			stale = append(stale, prev)
		}
	}
	for id, prev := range old {
		if _, ok := next[id]; !ok {
			stale = append(stale, prev)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	r.mu.Lock()
	r.runtime = next
	watch := slices.Clone(r.watch)
	r.mu.Unlock()
	for _, e := range stale {
		if e.cancel != nil {
			e.cancel()
		}
	}
	for _, fn := range watch {
		fn()
	}
	return nil
}

func sameRecord(a, b store.ProviderRecord) bool {
	return bytes.Equal(a.Config, b.Config) && a.Secret == b.Secret && a.Enabled == b.Enabled && a.UpdatedAt.Equal(b.UpdatedAt)
}

// make builds the entry of one record. What keeps it from running is
// recorded in Problem, never returned: one bad record must not take the
// others down.
func (r *Registry) make(rec store.ProviderRecord) *runtimeEntry {
	e := &runtimeEntry{record: rec}
	e.Source, e.Enabled, e.SecretSet = SourceAdmin, rec.Enabled, rec.Secret != ""
	e.CreatedAt, e.UpdatedAt = rec.CreatedAt, rec.UpdatedAt
	set, err := Decode(rec.Config)
	if err != nil {
		e.Config = providers.Config{ID: rec.ID}
		e.Problem = "stored settings do not read: " + err.Error()
		return e
	}
	e.Config = set.Config(rec.ID)
	switch {
	case r.IsStatic(rec.ID):
		e.Problem = "the configuration file has a provider with this id; it wins"
		return e
	case !rec.Enabled:
		return e
	case r.keys == nil:
		e.Problem = ErrNoKey.Error()
		return e
	}
	clientSecret := ""
	if rec.Secret != "" {
		if clientSecret, err = r.keys.Open(rec.Secret, rec.ID); err != nil {
			e.Problem = fmt.Sprintf("the client secret does not open: %v", err)
			r.logger.Error("provider secret does not open", "provider", rec.ID, "err", err)
			return e
		}
	}
	ctx, cancel := context.WithCancel(r.ctx)
	p, err := r.build(ctx, e.Config, clientSecret)
	if err != nil {
		cancel()
		e.Problem = err.Error()
		r.logger.Error("provider does not build", "provider", rec.ID, "err", err)
		return e
	}
	e.Provider, e.cancel = p, cancel
	return e
}

// Seal seals a client secret for the provider id.
func (r *Registry) Seal(clientSecret, id string) (string, error) {
	if r.keys == nil {
		return "", ErrNoKey
	}
	return r.keys.Seal(clientSecret, id)
}

// testerTTL bounds the background work of a provider built only for a
// test sign-in.
const testerTTL = 15 * time.Minute

// Tester returns the provider to run a test sign-in with: the running
// one, or for a disabled provider added here, one built for the test
// alone, so IT can try a provider before employees see its button.
func (r *Registry) Tester(id string) (providers.Provider, error) {
	e, ok := r.Entry(id)
	if !ok {
		return nil, fmt.Errorf("provider %q: %w", id, store.ErrNotFound)
	}
	if e.Provider != nil {
		return e.Provider, nil
	}
	if e.Source != SourceAdmin || e.Enabled {
		return nil, fmt.Errorf("provider %s cannot run: %s", id, e.Problem)
	}
	r.mu.RLock()
	re := r.runtime[id]
	r.mu.RUnlock()
	if re == nil || r.keys == nil {
		return nil, fmt.Errorf("provider %q: %w", id, store.ErrNotFound)
	}
	clientSecret := ""
	if re.record.Secret != "" {
		var err error
		if clientSecret, err = r.keys.Open(re.record.Secret, id); err != nil {
			return nil, fmt.Errorf("provider %s: the client secret does not open: %w", id, err)
		}
	}
	ctx, cancel := context.WithTimeout(r.ctx, testerTTL)
	p, err := r.build(ctx, e.Config, clientSecret)
	if err != nil {
		cancel()
		return nil, err
	}
	context.AfterFunc(ctx, cancel)
	return p, nil
}
