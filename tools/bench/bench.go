// Package bench holds the pieces of the side-by-side load test: a minimal
// upstream that verifies assertions on a sample, a bare reverse proxy as the
// practical limit, session seeding, and a sign-in helper and login storm.
// It is test tooling: the product never imports it.
package bench

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// Upstream answers every request with a short 200. Every SampleEvery-th
// request carrying an assertion has it verified against the gateway's JWKS,
// as an app would, so the benchmark proves the identity is real without
// paying a verification on every request.
type Upstream struct {
	JWKSURL     string // the gateway's /.gatehouse/jwks.json; empty: no verification
	Issuer      string
	Audience    string
	SampleEvery uint64
	Now         func() time.Time
	Client      *http.Client

	requests, withAssertion, verified, failed atomic.Uint64

	mu   sync.Mutex
	jwks []byte
}

// Stats is what the upstream counted, served at /__bench/stats.
type Stats struct {
	Requests      uint64 `json:"requests"`
	WithAssertion uint64 `json:"with_assertion"`
	Verified      uint64 `json:"verified"`
	Failed        uint64 `json:"failed"`
}

var okBody = []byte("ok\n")

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/__bench/stats" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(u.Stats())
		return
	}
	n := u.requests.Add(1)
	if tok := r.Header.Get("X-Gatehouse-Assertion"); tok != "" {
		u.withAssertion.Add(1)
		if u.JWKSURL != "" && u.SampleEvery > 0 && n%u.SampleEvery == 0 {
			if err := u.verify(tok); err != nil {
				u.failed.Add(1)
			} else {
				u.verified.Add(1)
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(okBody)
}

// Stats returns the counters so far.
func (u *Upstream) Stats() Stats {
	return Stats{u.requests.Load(), u.withAssertion.Load(), u.verified.Load(), u.failed.Load()}
}

// verify checks tok against the cached JWKS, fetching it once more when
// the key is unknown (a rotation).
func (u *Upstream) verify(tok string) error {
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	jwks, err := u.keys(false)
	if err != nil {
		return err
	}
	if _, err = identity.Verify(tok, jwks, u.Issuer, u.Audience, now(), time.Minute); err == nil {
		return nil
	}
	if jwks, err = u.keys(true); err != nil {
		return err
	}
	_, err = identity.Verify(tok, jwks, u.Issuer, u.Audience, now(), time.Minute)
	return err
}

func (u *Upstream) keys(refresh bool) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.jwks != nil && !refresh {
		return u.jwks, nil
	}
	c := u.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(u.JWKSURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	u.jwks = b
	return b, nil
}

// NewBareProxy is the practical limit the gateway is compared with: a
// plain httputil.ReverseProxy with a transport tuned for one busy
// upstream on loopback, and nothing else.
func NewBareProxy(target *url.URL, logger *slog.Logger) http.Handler {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		// As the gateway's: pass the client's Accept-Encoding through
		// rather than ask for gzip and inflate.
		DisableCompression: true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  tr,
		BufferPool: &copyBuffers{},
		ErrorLog:   slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// copyBuffers gives the bare proxy the pooled 32 KiB copy buffers any
// tuned ReverseProxy has. The baseline keeps its own pool rather than the
// gateway's, so that a change to the gateway never moves the limit it is
// measured against. Pointers to arrays are pooled: Put then allocates no
// slice header.
type copyBuffers struct{ pool sync.Pool }

func (c *copyBuffers) Get() []byte {
	if b, ok := c.pool.Get().(*[32 << 10]byte); ok {
		return b[:]
	}
	return new([32 << 10]byte)[:]
}

func (c *copyBuffers) Put(b []byte) {
	if len(b) == 32<<10 {
		c.pool.Put((*[32 << 10]byte)(b))
	}
}
