// Package gate is the door in front of every app: it normalises the path,
// finds the route, checks the session and the route's policy, and forwards
// the request with a signed identity, or answers with sign-in or denial.
package gate

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Outcome is what the gate decided for one request.
type Outcome int

// Outcomes, in the order the checks run.
const (
	Allow       Outcome = iota // forward (with an identity when signed in)
	BadPath                    // ambiguous path or invalid host: 400
	NoRoute                    // nothing routes here: 404
	SignIn                     // no valid session on a protected route
	Deny                       // signed in but not allowed: 403
	Unavailable                // the store cannot confirm the session: 503
	Terms                      // signed in and allowed, but the current terms of use are not accepted
)

// Decision is the gate's answer for one request.
type Decision struct {
	Outcome  Outcome
	Route    *proxy.Route
	Path     string          // the normalised path policy was checked on
	Identity *proxy.Identity // nil on public routes without a session
}

// Sessions finds the request's session.
type Sessions interface {
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
}

// Identities reads what an account is in one company.
type Identities interface {
	Identity(ctx context.Context, accountID, companyID string) (account.Identity, error)
}

// Signer signs identity assertions.
type Signer interface {
	Sign(c identity.Claims) (string, error)
}

// Enricher adds what access rules say about an account in a company: its
// property values (the `props` claim) and the grants of the rules that
// match (the `grants` claim). It is called once per identity the gate
// builds, never per request, so it may read the store.
type Enricher interface {
	Enrich(ctx context.Context, accountID, companyID, kind, role string) (props map[string]any, grants []identity.Grant, err error)
}

// Gate decides and forwards. Build it with New.
type Gate struct {
	router     *proxy.Router
	sessions   Sessions
	identities Identities
	signer     Signer
	logger     *slog.Logger
	now        func() time.Time
	cache      *identityCache

	// DataTTL bounds how long a cached identity is trusted without being
	// rebuilt. Changes do not wait for it: every committed change to
	// account data drops what it made stale (Forget), on every process;
	// it only bounds the cost of a change announcement that was lost.
	DataTTL time.Duration
	// RefreshBefore: an assertion is re-signed when it has less than this
	// left to live, so an app never receives one about to expire.
	RefreshBefore time.Duration
	// MinRemaining: a cached assertion with less than this left to live is
	// never sent while a new one is made in the background; the request
	// waits for the new one instead.
	MinRemaining time.Duration
	refreshes    sync.WaitGroup
	// StoreTimeout bounds building an identity on a request (the account,
	// its memberships and the access rules), so a database that stops
	// answering gets the request a 503 rather than a hang.
	StoreTimeout time.Duration
	// Enricher, when set, fills props and grants; without it they are empty.
	Enricher Enricher
	// TermsVersion, when set, is the terms-of-use version an account must
	// have accepted before any protected app sees it. Set it before serving.
	TermsVersion string
}

// New builds a gate.
func New(router *proxy.Router, sessions Sessions, identities Identities, signer Signer, cacheSize int, now func() time.Time, logger *slog.Logger) *Gate {
	return &Gate{
		router: router, sessions: sessions, identities: identities, signer: signer,
		logger: logger, now: now, cache: newIdentityCache(cacheSize),
		DataTTL: 30 * time.Second, RefreshBefore: 2 * time.Minute, MinRemaining: time.Minute,
		StoreTimeout: 2 * time.Second,
	}
}

// Decide runs every check for a request to host (as received, port and
// all) and escapedPath (the path as received, still percent-encoded).
func (g *Gate) Decide(ctx context.Context, r *http.Request, host, escapedPath string) Decision {
	clean, err := proxy.NormalizePath(escapedPath)
	if err != nil || isGatewayPath(clean) {
		// The server dispatches /.gatehouse/ before the gate sees the
		// request, so a path that only normalises into it is a trick.
		return Decision{Outcome: BadPath}
	}
	host, err = proxy.CanonicalHost(host)
	if err != nil {
		return Decision{Outcome: BadPath}
	}
	route, ok := g.router.Match(host, clean)
	if !ok {
		return Decision{Outcome: NoRoute, Path: clean}
	}
	d := Decision{Route: route, Path: clean}
	sess, err := g.sessions.Lookup(ctx, r)
	switch {
	case errors.Is(err, session.ErrNoSession):
		if route.Config.Public {
			d.Outcome = Allow
		} else {
			d.Outcome = SignIn
		}
		return d
	case err != nil:
		g.logger.Warn("session lookup failed", "err", err)
		d.Outcome = Unavailable
		return d
	}
	e, err := g.identityFor(ctx, sess, route)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The account vanished under a live session.
			d.Outcome = SignIn
			return d
		}
		g.logger.Warn("building identity failed", "err", err)
		d.Outcome = Unavailable
		return d
	}
	d.Outcome, d.Identity = g.apply(e, route)
	return d
}

// apply decides for one request from the cached identity and the route's
// own policy. It runs on every request, never from a cache: two routes
// with one audience and company share the entry but not their policy.
func (g *Gate) apply(e *entry, route *proxy.Route) (Outcome, *proxy.Identity) {
	if route.Config.Public {
		// Public routes let anyone through, with the identity of an active
		// account only (fwd is nil otherwise).
		return Allow, e.fwd
	}
	if !allowed(e.id, route) {
		return Deny, nil
	}
	if g.TermsVersion != "" && e.id.Account.TermsVersion != g.TermsVersion {
		// Accepting the terms forgets the session's entries, so the
		// answer changes at once.
		return Terms, nil
	}
	return Allow, e.fwd
}

// identityFor returns the cached identity of the session for the route's
// audience. An entry whose data is stale or whose assertion is near expiry
// is still served while its assertion has at least MinRemaining to live,
// and rebuilt in the background (one rebuild per entry at a time), so the
// hot path never waits for the store or for a signature; past that point
// it is rebuilt on the request.
func (g *Gate) identityFor(ctx context.Context, sess store.Session, route *proxy.Route) (*entry, error) {
	key := cacheKey{session: sess.ID, audience: route.Config.Audience, company: route.Config.Company}
	now := g.now()
	if e, ok := g.cache.get(key); ok {
		left := e.exp.Sub(now)
		if now.Sub(e.built) < g.DataTTL && left > g.RefreshBefore {
			return e, nil
		}
		if left > g.MinRemaining {
			if e.refreshing.CompareAndSwap(false, true) {
				g.refreshes.Add(1)
				go g.refresh(key, sess, route, e)
			}
			return e, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, g.StoreTimeout)
	defer cancel()
	return g.build(ctx, key, sess, route)
}

// refresh rebuilds a stale entry off the request path. A failure keeps the
// old entry (it is still valid) and lets a later request try again.
func (g *Gate) refresh(key cacheKey, sess store.Session, route *proxy.Route, old *entry) {
	defer g.refreshes.Done()
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	_, err := g.build(ctx, key, sess, route)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		g.logger.Warn("refreshing identity failed", "err", err)
	}
	// Whether the new entry replaced this one or was not cached (a drop
	// raced with the build), a later request may try again.
	old.refreshing.Store(false)
}

// refreshTimeout bounds a background rebuild.
const refreshTimeout = 10 * time.Second

// WaitRefreshes waits for the background rebuilds started so far.
func (g *Gate) WaitRefreshes() { g.refreshes.Wait() }

// build reads the account, signs the assertion when the account may be
// vouched for, and caches the result. Nothing in it depends on a route's
// policy, only on the key's session, audience and company.
func (g *Gate) build(ctx context.Context, key cacheKey, sess store.Session, route *proxy.Route) (*entry, error) {
	gen := g.cache.generation()
	now := g.now()
	id, err := g.identities.Identity(ctx, sess.AccountID, route.Config.Company)
	if err != nil {
		return nil, err
	}
	e := &entry{built: now, id: id}
	if id.Account.Status != store.StatusActive {
		// Refused on every private route and anonymous on public ones:
		// nothing to sign.
		e.exp = now.Add(g.DataTTL + g.RefreshBefore)
		g.cache.put(key, e, gen)
		return e, nil
	}
	claims := claimsFor(id, sess, route)
	if g.Enricher != nil {
		props, grants, err := g.Enricher.Enrich(ctx, id.Account.ID, route.Config.Company, id.Account.Kind, id.Role)
		if err != nil {
			return nil, err
		}
		if props != nil {
			claims.Props = props
		}
		if grants != nil {
			claims.Grants = grants
		}
	}
	token, err := g.signer.Sign(claims)
	if err != nil {
		return nil, err
	}
	e.exp = now.Add(identity.MaxAssertionTTL)
	e.fwd = &proxy.Identity{
		Assertion:      token,
		User:           id.Account.ID,
		Email:          id.Account.Email,
		Role:           id.Role,
		SharedComputer: id.Account.Kind == store.KindSharedComputer,
	}
	g.cache.put(key, e, gen)
	return e, nil
}

// allowed applies the route's policy to the account's standing in the
// route's company.
func allowed(id account.Identity, route *proxy.Route) bool {
	if id.Account.Status != store.StatusActive {
		return false
	}
	allow := route.Config.Allow
	if id.Role == "" {
		// No membership in the route's company.
		return false
	}
	if len(allow.Roles) == 0 && len(allow.Capabilities) == 0 {
		return true
	}
	if slices.Contains(allow.Roles, id.Role) {
		return true
	}
	for _, c := range allow.Capabilities {
		if slices.Contains(id.Capabilities, c) {
			return true
		}
	}
	return false
}

func claimsFor(id account.Identity, sess store.Session, route *proxy.Route) identity.Claims {
	a := id.Account
	return identity.Claims{
		Audience:       route.Config.Audience,
		Subject:        a.ID,
		Email:          a.Email,
		GivenName:      a.FirstName,
		FamilyName:     a.LastName,
		Name:           account.DisplayName(a),
		Locale:         a.Language,
		Role:           id.Role,
		Capabilities:   nonNil(id.Capabilities),
		SharedComputer: a.Kind == store.KindSharedComputer,
		Company:        route.Config.Company,
		Sites:          nonNil(id.Sites),
		Props:          map[string]any{},
		Grants:         []identity.Grant{},
		AMR:            nonNil(sess.AMR),
		IDP:            sess.IDP,
		SessionID:      sess.ID,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ForgetSessions drops cached identities of ended sessions.
func (g *Gate) ForgetSessions(ids []string) {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	g.cache.dropWhere(func(k cacheKey, _ *entry) bool { return set[k.session] })
}

// Forget drops the cached identities (and the assertions signed from
// them) that committed changes made stale: every one of a changed
// account, in any company, and every one seen through a company whose
// rules or property definitions changed. The next request builds afresh.
func (g *Gate) Forget(changes []store.Change) {
	accounts, companies := map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		if c.Account != "" {
			accounts[c.Account] = true
		}
		if c.Company != "" {
			companies[c.Company] = true
		}
	}
	g.cache.dropWhere(func(k cacheKey, e *entry) bool {
		return accounts[e.id.Account.ID] || companies[k.company]
	})
}

// ForgetAll drops every cached identity, for when changes may have been
// missed (the invalidation bus reconnected).
func (g *Gate) ForgetAll() { g.cache.clear() }

func isGatewayPath(p string) bool {
	return p == "/.gatehouse" || strings.HasPrefix(p, "/.gatehouse/")
}
