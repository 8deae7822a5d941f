// Package proxy routes requests by host and normalised path and forwards
// them upstream, stripping spoofable identity headers and adding the real one.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
)

// DefaultMaxIdleConns is the idle-connection limit of a route that sets
// none. A zero timeout, by contrast, means none: the config gives every
// route 30s unless it says 0.
const DefaultMaxIdleConns = 256

const (
	dialTimeout     = 5 * time.Second
	dialKeepAlive   = 30 * time.Second
	idleConnTimeout = 90 * time.Second
)

// Options are the router's dependencies.
type Options struct {
	// TrustedProxies decides whose X-Forwarded-* headers are kept. Nil
	// trusts nobody.
	TrustedProxies *clientip.Resolver
	// Logger receives upstream failures. Nil discards.
	Logger *slog.Logger
	// ErrorPage renders 400, 502 and 504 answers. Nil writes plain text.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int)
}

// Router picks the route for a request and owns the upstream transports.
type Router struct {
	byHost     map[string][]*Route // lower-case host without port -> routes, longest prefix first
	anyHost    []*Route            // host-less routes, longest prefix first
	transports []*http.Transport
}

// Route is one configured route with its forwarder.
type Route struct {
	// Config is the route as configured, PathPrefix defaulted to "/". It
	// is what policy reads (Audience, Company, Allow, Public); treat it as
	// read-only.
	Config config.Route

	prefix string
	// base is prefix without its trailing "/": "/x/" also covers "/x",
	// which most servers answer alike (a redirect to "/x/" or the page).
	base          string
	caseSensitive bool
	upstream      *url.URL
	proxy         *httputil.ReverseProxy
	opts          *Options
}

// NewRouter validates routes and builds their forwarders. Every problem is
// reported, each with its key path (routes[2].upstream: ...).
//
// Routes whose upstream has the same scheme, host and timeout share one
// transport, so one connection pool serves them; its idle-connection limit
// is the largest any of them asks for.
func NewRouter(routes []config.Route, opts Options) (*Router, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ErrorPage == nil {
		opts.ErrorPage = plainErrorPage
	}
	o := &opts
	rt := &Router{byHost: make(map[string][]*Route)}
	type transportKey struct {
		scheme, host string
		timeout      time.Duration
	}
	transports := make(map[transportKey]*http.Transport)
	var overlaps config.RouteOverlaps
	pool := newBufferPool()
	var errs []error
	for i, rc := range routes {
		key := fmt.Sprintf("routes[%d]", i)
		prefix := rc.PathPrefix
		if prefix == "" {
			prefix = "/"
		}
		if clean, err := NormalizePath(prefix); err != nil || clean != prefix {
			errs = append(errs, fmt.Errorf("%s.path_prefix: %q is not a normalised absolute path", key, rc.PathPrefix))
		}
		host, err := CanonicalHost(rc.Host)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.host: %q is not a host name", key, rc.Host))
		}
		base := strings.TrimSuffix(prefix, "/")
		if clash := overlaps.Add(i, host, rc); clash != "" {
			errs = append(errs, fmt.Errorf("%s: %s", key, clash))
		}
		up, err := url.Parse(rc.Upstream)
		if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" || up.User != nil {
			errs = append(errs, fmt.Errorf("%s.upstream: %q is not an absolute http(s) URL", key, rc.Upstream))
			continue
		}
		if up.RawQuery != "" || up.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s.upstream: must not carry a query or fragment", key))
		}
		if rc.Timeout < 0 || rc.MaxIdleConns < 0 {
			errs = append(errs, fmt.Errorf("%s: timeout and max_idle_conns must not be negative", key))
		}
		timeout := time.Duration(rc.Timeout)
		maxIdle := rc.MaxIdleConns
		if maxIdle == 0 {
			maxIdle = DefaultMaxIdleConns
		}
		tk := transportKey{up.Scheme, strings.ToLower(up.Host), timeout}
		tr, ok := transports[tk]
		if !ok {
			tr = newTransport(up.Scheme, timeout, maxIdle)
			transports[tk] = tr
			rt.transports = append(rt.transports, tr)
		} else if maxIdle > tr.MaxIdleConnsPerHost {
			tr.MaxIdleConnsPerHost, tr.MaxIdleConns = maxIdle, maxIdle
		}
		r := &Route{Config: rc, prefix: prefix, base: base, caseSensitive: rc.CaseSensitive, upstream: up, opts: o}
		r.Config.PathPrefix = prefix
		r.proxy = &httputil.ReverseProxy{
			Rewrite: r.rewrite,
			// The gateway's cookies are its own: an upstream's answer may
			// not set them (see dropGatewaySetCookies).
			ModifyResponse: func(resp *http.Response) error {
				dropGatewaySetCookies(resp.Header)
				return nil
			},
			Transport:    tr,
			ErrorHandler: r.upstreamError,
			ErrorLog:     slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
			BufferPool:   pool,
			// Zero: ReverseProxy already flushes at once for
			// text/event-stream and for any response without a
			// Content-Length, which covers SSE and chunked streams, while
			// ordinary responses keep their buffering.
			FlushInterval: 0,
		}
		if host == "" {
			rt.anyHost = append(rt.anyHost, r)
		} else {
			rt.byHost[host] = append(rt.byHost[host], r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	byPrefixLen := func(a, b *Route) int { return len(b.prefix) - len(a.prefix) }
	slices.SortStableFunc(rt.anyHost, byPrefixLen)
	for _, rs := range rt.byHost {
		slices.SortStableFunc(rs, byPrefixLen)
	}
	return rt, nil
}

func newTransport(scheme string, timeout time.Duration, maxIdle int) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: dialKeepAlive}
	return &http.Transport{
		// Upstreams are internal: never send them through an environment proxy.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          maxIdle,
		MaxIdleConnsPerHost:   maxIdle,
		IdleConnTimeout:       idleConnTimeout,
		ResponseHeaderTimeout: timeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     scheme == "https",
		// The upstream sees the client's own Accept-Encoding. Otherwise a
		// client that sent none would make the transport ask for gzip and
		// then inflate the answer itself: work on both sides for nothing.
		DisableCompression: true,
	}
}

// Match returns the route for a canonical host (CanonicalHost) and an
// already normalised path (NormalizePath): routes naming this host come
// before host-less ones, and within each group the longest matching
// path_prefix wins. See matchPath for how a path matches a prefix.
func (rt *Router) Match(host, cleanPath string) (*Route, bool) {
	for _, r := range rt.byHost[host] {
		if r.matchPath(cleanPath) {
			return r, true
		}
	}
	for _, r := range rt.anyHost {
		if r.matchPath(cleanPath) {
			return r, true
		}
	}
	return nil, false
}

// Close releases idle upstream connections.
func (rt *Router) Close() {
	for _, tr := range rt.transports {
		tr.CloseIdleConnections()
	}
}

// matchPath reports whether a normalised path lies under the route's
// prefix as the most lenient common upstream would read it, so that no
// spelling of a protected path reaches an app through a wider route: on a
// segment boundary, "/x/" covering "/x", and in any letter case (IIS,
// Windows and Express ignore it) unless the route is case-sensitive. The
// other spellings (";" parameters, trailing dots and spaces) never get
// here: NormalizePath refuses them.
func (r *Route) matchPath(p string) bool {
	n, ok := len(r.base), false
	if r.caseSensitive {
		ok = strings.HasPrefix(p, r.base)
	} else {
		n, ok = foldedPrefix(p, r.base)
	}
	return ok && (n == len(p) || p[n] == '/')
}

// foldedPrefix reports whether p begins with prefix under Unicode simple
// case folding (so the Kelvin sign matches "k", as case-insensitive file
// systems may read it) and how many bytes of p that beginning takes. ASCII,
// the common case, is compared byte by byte without decoding.
func foldedPrefix(p, prefix string) (int, bool) {
	i, j := 0, 0
	for j < len(prefix) {
		if i >= len(p) {
			return 0, false
		}
		a, b := p[i], prefix[j]
		if a < utf8.RuneSelf && b < utf8.RuneSelf {
			if lowerASCII(a) != lowerASCII(b) {
				return 0, false
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRuneInString(p[i:])
		rb, nb := utf8.DecodeRuneInString(prefix[j:])
		if !equalFoldRune(ra, rb) {
			return 0, false
		}
		i += na
		j += nb
	}
	return i, true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// Forward forwards req upstream under the normalised path with id's
// headers (none when id is nil). The path is normalised again here and
// must still belong to this route, so a handler chain that changed req.URL
// between policy and forwarding cannot send a request somewhere the policy
// did not look.
func (r *Route) Forward(w http.ResponseWriter, req *http.Request, id *Identity) {
	clean, err := NormalizePath(req.URL.EscapedPath())
	if err != nil || !r.matchPath(clean) {
		r.opts.ErrorPage(w, req, http.StatusBadRequest)
		return
	}
	ctx := &forwardContext{Context: req.Context(), clean: clean, id: id}
	ctx.w.ResponseWriter = w
	r.proxy.ServeHTTP(&ctx.w, req.WithContext(ctx))
}

// informationalFilter drops the gateway's cookies from the informational
// (1xx) answers that ReverseProxy relays as they arrive, such as 103 Early
// Hints: ModifyResponse sees only the final answer.
type informationalFilter struct{ http.ResponseWriter }

func (w *informationalFilter) WriteHeader(code int) {
	if code < http.StatusOK {
		dropGatewaySetCookies(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the server's writer (to flush
// a stream or hijack an upgraded connection).
func (w *informationalFilter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// forwardContext carries what rewrite needs, the checked path and the
// identity, to ReverseProxy's Rewrite, which sees only the request. It is
// one allocation where two context.WithValue layers would be two; it
// passes every other lookup, cancellation and deadline to its parent.
type forwardContext struct {
	context.Context
	clean string
	id    *Identity
	// w rides along so that wrapping the response writer costs no
	// allocation of its own.
	w informationalFilter
}

type forwardKey struct{}

func (c *forwardContext) Value(key any) any {
	if key == (forwardKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (r *Route) rewrite(pr *httputil.ProxyRequest) {
	fc, ok := pr.In.Context().Value(forwardKey{}).(*forwardContext)
	if !ok {
		// Only Forward hands requests to the ReverseProxy.
		panic("proxy: request reached the forwarder without Forward")
	}
	pr.SetURL(r.upstream)
	// SetURL joined the raw incoming path; replace it with the path the
	// policy checked, and drop RawPath so it is re-escaped from that path
	// rather than echoing the client's encoding.
	pr.Out.URL.Path = joinPath(r.upstream.Path, fc.clean)
	pr.Out.URL.RawPath = ""
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery

	// ReverseProxy already dropped X-Forwarded-For/Host/Proto and
	// Forwarded; upstreamHeader also removes their "_" spellings, the rest
	// of the family, and every identity header a client sent.
	pr.Out.Header = upstreamHeader(pr.Out.Header)
	r.setForwarded(pr)
	if fc.id != nil {
		fc.id.SetHeaders(pr.Out.Header)
	}
}

// setForwarded writes X-Forwarded-For, -Proto and -Host. From a trusted
// proxy the incoming chain and its proto and host are kept; from anyone
// else they start afresh with the direct peer.
func (r *Route) setForwarded(pr *httputil.ProxyRequest) {
	in := pr.In
	peer := clientip.Peer(in)
	var xff string
	if r.opts.TrustedProxies.Trusted(peer) {
		xff = strings.Join(in.Header.Values("X-Forwarded-For"), ", ")
	}
	if peer.IsValid() {
		if xff != "" {
			xff += ", "
		}
		xff += peer.String()
	}
	proto, host := r.opts.TrustedProxies.ForwardedProtoHost(in)
	// One array backs the three values (canonical names, set directly).
	v := &[3]string{xff, proto, host}
	if xff != "" {
		pr.Out.Header["X-Forwarded-For"] = v[0:1:1]
	}
	pr.Out.Header["X-Forwarded-Proto"] = v[1:2:2]
	pr.Out.Header["X-Forwarded-Host"] = v[2:3:3]
}

// upstreamError answers 504 when the upstream was too slow and 502 for any
// other failure; the detail goes to the log only.
func (r *Route) upstreamError(w http.ResponseWriter, req *http.Request, err error) {
	status := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		status = http.StatusGatewayTimeout
	}
	if errors.Is(err, context.Canceled) && req.Context().Err() != nil {
		// The client went away; nothing is wrong upstream and nobody reads
		// the answer. 499 (nginx's "client closed request") keeps these
		// out of the 5xx counts that alert on upstream failures.
		r.opts.Logger.LogAttrs(req.Context(), slog.LevelDebug, "client went away",
			slog.String("upstream", r.upstream.Redacted()), slog.String("path_prefix", r.prefix))
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	r.opts.Logger.LogAttrs(req.Context(), slog.LevelWarn, "upstream request failed",
		slog.String("upstream", r.upstream.Redacted()),
		slog.String("path_prefix", r.prefix),
		slog.Int("status", status),
		slog.String("error", err.Error()))
	r.opts.ErrorPage(w, req, status)
}

// StatusClientClosedRequest is recorded for a request whose client
// disconnected before the upstream answered.
const StatusClientClosedRequest = 499

func plainErrorPage(w http.ResponseWriter, _ *http.Request, status int) {
	http.Error(w, http.StatusText(status), status)
}

// joinPath puts the clean request path under the upstream's base path.
func joinPath(base, clean string) string {
	if base == "" || base == "/" {
		return clean
	}
	return strings.TrimSuffix(base, "/") + clean
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// newBufferPool returns a pool of the 32 KiB buffers ReverseProxy copies
// bodies through; without one every response costs a fresh buffer.
func newBufferPool() httputil.BufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

const copyBufferSize = 32 << 10

// bufferPool keeps array pointers, so that Put converts the slice back
// without allocating, as a pointer to a fresh slice header would.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte { return b.p.Get().(*[copyBufferSize]byte)[:] }

func (b *bufferPool) Put(p []byte) {
	if len(p) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(p))
	}
}
