// Package server assembles the gateway from its parts: store, keys,
// sessions, pages, routes and the operations listener, and runs them with
// sane timeouts and a graceful shutdown.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/device"
	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gate"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/idp"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/redirect"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/web/static"
	"github.com/gatehouse/gatehouse/providers"
)

// Server is an assembled gateway.
type Server struct {
	cfg       config.Config
	store     store.Store
	logger    *slog.Logger
	publicURL *url.URL
	issuer    string

	Accounts *account.Service
	Keys     *identity.Keyring
	Sessions *session.Manager
	Gate     *gate.Gate
	Metrics  *metrics.Metrics
	Renderer *web.Renderer
	// IDP is the live set of identity providers: the configuration's and
	// those added from the admin panel.
	IDP *idp.Registry
	// live is IDP for the invalidation bus, which may deliver before New
	// has finished.
	live atomic.Pointer[idp.Registry]
	// trial runs the admin panel's test sign-ins; nil without providers.
	trial *sso.Trial
	// Rules is the one properties and access-rules service: the gate's
	// Enricher and the admin service's, so one evaluation cache to drop
	// when the store announces a change (see listen).
	Rules *rules.Service

	handler   http.Handler
	accessLog *accessLog // nil: access lines go through logger
	ops       http.Handler
	now       func() time.Time
	environ   []string
	providers []providers.Provider // the configured identity providers
	mail      *mail.Queue
	reset     *reset.Handler

	// background work started by Run
	bg sync.WaitGroup
}

// Options are what the caller injects besides the config and the store.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Environ resolves env: secrets (default: the process environment).
	Environ []string
	// AccessLog, when set, receives the per-request access lines as JSON
	// written directly (the logger's JSON shape, at a fraction of its
	// cost); otherwise they go through Logger.
	AccessLog io.Writer
}

// New assembles a gateway over an opened, migrated store: the parts every
// feature shares, then each feature once and complete, then the routes.
func New(ctx context.Context, cfg config.Config, st store.Store, opts Options) (*Server, error) {
	s, err := newServer(cfg, st, opts)
	if err != nil {
		return nil, err
	}
	d, err := s.assemble(ctx)
	if err != nil {
		return nil, err
	}
	features, err := s.buildFeatures(ctx, d)
	if err != nil {
		return nil, err
	}
	s.handler = s.publicHandler(d, features)
	s.ops = s.opsMux()
	return s, nil
}

// newServer takes in the config and what the caller injects.
func newServer(cfg config.Config, st store.Store, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	// Once at start: what the config allows but switches off (passkeys
	// on an IP public_url), the same words `config check` prints.
	for _, w := range cfg.Warnings() {
		logger.Warn(w.Path+": "+w.Message, "key", w.Path)
	}
	pub, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("public_url: %w", err)
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	s := &Server{cfg: cfg, store: st, logger: logger, publicURL: pub, issuer: strings.TrimSuffix(cfg.PublicURL, "/"), now: now, environ: environ}
	if opts.AccessLog != nil {
		s.accessLog = newAccessLog(opts.AccessLog)
	}
	return s, nil
}

// assemble builds the parts every feature shares: pages, signing keys,
// sessions, accounts, the gate and its rules, and the request helpers.
func (s *Server) assemble(ctx context.Context) (*deps, error) {
	cfg, st, now, logger := s.cfg, s.store, s.now, s.logger
	secure := s.publicURL.Scheme == "https"
	catalog, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	if s.Renderer, err = web.NewRenderer(catalog, logger, formActionSources(cfg)...); err != nil {
		return nil, err
	}
	roles, err := account.LoadModel(cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	hasher := NewHasher(cfg)

	s.Keys = identity.NewKeyring(st, now, rand.Reader, logger)
	s.Keys.RotateEvery = cfg.Keys.RotateEvery.D()
	if err := s.Keys.Load(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	csrfKey, err := ensureSecret(ctx, st, "csrf_key")
	if err != nil {
		return nil, err
	}
	deviceKey, err := ensureSecret(ctx, st, "device_key")
	if err != nil {
		return nil, err
	}
	// Every session end goes through the session manager, which publishes
	// it on the invalidation bus; account changes that end sessions tell
	// the manager. The caches subscribe below, once the gate exists.
	inv, err := newInvalidation(ctx, st, logger)
	if err != nil {
		return nil, err
	}
	if s.Sessions, err = sessionManager(ctx, cfg, st, inv.bus, now, rand.Reader, logger); err != nil {
		return nil, err
	}
	s.Accounts = account.NewService(st, s.Sessions, roles, hasher, now, rand.Reader)
	s.Metrics = metrics.New(func() float64 { return float64(s.Sessions.ActiveCount()) })
	s.Metrics.Providers(s.providerHealth)

	ips, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	safeRedirect, err := s.redirectValidator()
	if err != nil {
		return nil, err
	}
	if err := s.newGate(ips, roles); err != nil {
		return nil, err
	}
	s.listen(ctx, st, inv)

	csrf := web.NewCSRF(csrfKey, secure, rand.Reader)
	s.Renderer.CSRF = csrf
	return &deps{
		cfg: cfg, store: st, logger: logger, now: now, publicURL: s.publicURL,
		renderer: s.Renderer, csrf: csrf, hasher: hasher, ips: ips,
		clientIP: func(r *http.Request) string { return ips.ClientIP(r).String() },
		redirect: safeRedirect,
		devices:  device.New(deviceKey, secure, cfg.Password.Lockout.DeviceTTL.D(), rand.Reader, now),
	}, nil
}

// redirectValidator returns the function that makes an rd target safe:
// the gateway's own origin or a route's host, "/" otherwise.
func (s *Server) redirectValidator() (func(rd string) string, error) {
	var hosts []string
	for _, rt := range s.cfg.Routes {
		if rt.Host != "" {
			hosts = append(hosts, rt.Host)
		}
	}
	rdv, err := redirect.New(s.issuer, hosts)
	if err != nil {
		return nil, err
	}
	return func(rd string) string {
		if t, ok := rdv.Validate(rd); ok {
			return t
		}
		return "/"
	}, nil
}

// newGate builds the routes, the gate in front of them and the one
// properties and access-rules service the gate enriches identities with.
func (s *Server) newGate(ips *clientip.Resolver, roles *account.Model) error {
	cfg, now, logger := s.cfg, s.now, s.logger
	router, err := proxy.NewRouter(cfg.Routes, proxy.Options{
		TrustedProxies: ips,
		Logger:         logger,
		ErrorPage: func(w http.ResponseWriter, r *http.Request, status int) {
			switch status {
			case http.StatusGatewayTimeout:
				s.Renderer.Fail(w, r, web.ProblemTimeout)
			default:
				s.Renderer.Fail(w, r, web.ProblemBadGateway)
			}
		},
	})
	if err != nil {
		return err
	}
	signer := identity.NewSigner(s.Keys, s.issuer, identity.MaxAssertionTTL, now)
	s.Gate = gate.New(router, s.Sessions, s.Accounts, signer, cfg.Session.CacheSize, now, logger)
	s.Gate.TermsVersion = cfg.Terms.Version
	s.Rules = rules.NewService(s.store, s.store, s.store, roles, now, rand.Reader, logger)
	s.Rules.Import = rules.ImportLimits{MaxColumns: cfg.Limits.ImportMaxColumns, MaxRows: cfg.Limits.ImportMaxRows, MaxErrors: cfg.Limits.ImportMaxErrors}
	s.Gate.Enricher = s.Rules
	return nil
}

// buildFeatures builds every feature once, complete: what one feature
// takes from another (the throttle, the passkey binding of workstations,
// the provider buttons) is built first and handed to its constructor.
func (s *Server) buildFeatures(ctx context.Context, d *deps) ([]mounter, error) {
	if err := s.newProviders(ctx, d); err != nil {
		return nil, err
	}
	guard := newLoginGuard(d)
	passkeys, err := s.newPasskeys(d)
	if err != nil {
		return nil, err
	}
	rst, err := s.newReset(d, guard)
	if err != nil {
		return nil, err
	}
	second := s.newMFA(d, passkeys)
	features := []mounter{
		s.newLogin(d, guard, passkeys, second), s.newLogout(d), s.newWhoami(d),
		rst, passkeys, second, s.newAccountPage(d, passkeys), s.newTerms(d),
	}
	features = append(features, s.newSSO(d)...)
	return append(features, s.newAdmin(d, rst, passkeys)...), nil
}

// publicHandler mounts the features and the gateway's own endpoints, and
// wraps them and the gate in the limits and observation every request
// passes through.
func (s *Server) publicHandler(d *deps, features []mounter) http.Handler {
	mux := http.NewServeMux()
	for _, f := range features {
		f.Mount(mux)
	}
	gh := gate.NewHandler(gate.HandlerDeps{Gate: s.Gate, Pages: gatePages{s.Renderer}, PublicURL: s.issuer, Now: s.now,
		Observe: func(w http.ResponseWriter, route *proxy.Route, _ gate.Outcome) {
			if sw, ok := w.(*statusWriter); ok && route != nil {
				sw.route = route.Config.Audience
			}
		},
		ObserveUpstream: func(route *proxy.Route, d time.Duration) { s.Metrics.Upstream(route.Config.Audience, d) },
	})
	mux.HandleFunc("GET /.gatehouse/verify", gh.Verify)
	mux.Handle("GET /.gatehouse/jwks.json", s.Keys.JWKSHandler())
	mux.Handle("GET /.gatehouse/static/", static.Handler())
	mux.HandleFunc("/.gatehouse/", func(w http.ResponseWriter, r *http.Request) {
		s.Renderer.Fail(w, r, web.ProblemNotFound)
	})
	limits := s.cfg.Limits
	own := limitUnauthenticated(readDeadline(mux, limits.GatewayReadTimeout.D()), limits, d.ips, s.Renderer, s.Metrics, s.now)
	return limitHeaderBytes(maxHeaderBytes(limits), s.observe(dispatch(own, minUploadRate(gh, limits))))
}

// dispatch sends the gateway's own paths to its mux and everything else
// through the gate. The test is on the raw path: a path that only
// normalises into /.gatehouse/ is refused by the gate.
func dispatch(own http.Handler, routed http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.RequestURI, "//") {
			// net/http reads "//x/y" as a host "x" and path "/y"; the
			// browser and the upstream see the path "//x/y". Route and
			// check what they see.
			raw, query, _ := strings.Cut(r.RequestURI, "?")
			p, err := url.PathUnescape(raw)
			if err != nil {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			r.URL.Host, r.URL.Path, r.URL.RawPath, r.URL.RawQuery = "", p, raw, query
		}
		if r.URL.Path == "/.gatehouse" || strings.HasPrefix(r.URL.Path, "/.gatehouse/") {
			own.ServeHTTP(w, r)
			return
		}
		routed.ServeHTTP(w, r)
	})
}

func ensureSecret(ctx context.Context, st store.Secrets, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	v, err := st.EnsureSecret(ctx, name, b)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

// Handler is the public listener's handler.
func (s *Server) Handler() http.Handler { return s.handler }

// OpsHandler serves /healthz, /readyz and /metrics.
func (s *Server) OpsHandler() http.Handler { return s.ops }

func (s *Server) opsMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var problems []string
		if err := s.store.Ping(ctx); err != nil {
			problems = append(problems, "store: unreachable")
		}
		if !s.Keys.Ready() {
			problems = append(problems, "keys: no signing key loaded")
		}
		// An identity provider that is down is reported but does not make
		// the gateway unready: passwords and other providers still work.
		var notes []string
		for _, p := range s.providers {
			if st := p.Status(); st.State != providers.StateReady {
				notes = append(notes, fmt.Sprintf("provider %s: %s", p.ID(), st.State))
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(strings.Join(append(problems, notes...), "\n") + "\n"))
			return
		}
		_, _ = w.Write([]byte(strings.Join(append([]string{"ready"}, notes...), "\n") + "\n"))
	})
	mux.Handle("GET /metrics", s.Metrics.Handler())
	return mux
}

// Run serves the public and operations listeners until ctx ends, then
// shuts down gracefully. Listeners may be given (tests pass their own).
func (s *Server) Run(ctx context.Context, public, ops net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.Sessions.Run(ctx) }()
	go func() { defer s.bg.Done(); s.Keys.Run(ctx, time.Minute) }()
	s.bg.Add(1)
	go func() { defer s.bg.Done(); every(ctx, time.Hour, s.maintain) }()
	s.bg.Add(2)
	go func() { defer s.bg.Done(); every(ctx, providerResync, s.reloadProviders) }()
	go func() { defer s.bg.Done(); s.watchProviderHealth(ctx, providerProbe) }()
	if s.mail != nil {
		s.bg.Add(1)
		go func() { defer s.bg.Done(); _ = s.mail.Run(ctx) }()
	}

	maxHeader := maxHeaderBytes(s.cfg.Limits) + requestLineRoom
	pub := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	opsSrv := &http.Server{Handler: s.ops, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- serve(pub, public) }()
	go func() { errc <- serve(opsSrv, ops) }()
	s.logger.Info("gatehouse listening", "listen", public.Addr().String(), "ops", ops.Addr().String(), "public_url", s.issuer)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), 15*time.Second)
	defer done()
	drained := pub.Shutdown(shutdownCtx) == nil
	_ = opsSrv.Shutdown(shutdownCtx)
	if drained {
		// No request can start an identity rebuild any more: let those
		// under way finish, as they read the store, which closes once Run
		// returns. (Requests still running after the deadline could start
		// one while we wait, so then there is no waiting.)
		waitRefreshes(shutdownCtx, s.Gate)
	}
	cancel()
	if s.reset != nil {
		s.reset.Wait()
	}
	s.bg.Wait()
	return err
}

// waitRefreshes waits for the gate's background identity rebuilds, or
// until ctx ends.
func waitRefreshes(ctx context.Context, g *gate.Gate) {
	done := make(chan struct{})
	go func() { g.WaitRefreshes(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// every runs fn at each interval, until ctx ends: the store's upkeep and
// the stored providers' safety re-read.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// maintain removes spent tokens, ended throttling counters, old sent mail
// and audit events past audit.retention. Every replica runs it: each
// delete is of rows already of no use, so two replicas at once only find
// less to do.
func (s *Server) maintain(ctx context.Context) {
	n, err := s.store.Purge(ctx, s.now(), 30*24*time.Hour)
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("store maintenance failed", "err", err)
	} else if n > 0 {
		s.logger.Debug("store maintenance", "removed", n)
	}
	n, err = s.store.PurgeAudit(ctx, s.now().Add(-s.cfg.Audit.Retention.D()))
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("audit purge failed", "err", err)
	} else if n > 0 {
		s.logger.Info("audit purge", "removed", n, "retention", s.cfg.Audit.Retention.String())
	}
}

func serve(srv *http.Server, l net.Listener) error {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// gatePages shows the gate's refusals as the gateway's error pages.
type gatePages struct{ *web.Renderer }

func (p gatePages) Refuse(w http.ResponseWriter, r *http.Request, o gate.Outcome) {
	switch o {
	case gate.BadPath:
		p.Fail(w, r, web.ProblemBadRequest)
	case gate.NoRoute:
		p.Fail(w, r, web.ProblemNotFound)
	case gate.Deny:
		p.Fail(w, r, web.ProblemForbidden)
	default:
		p.Fail(w, r, web.ProblemUnavailable)
	}
}
