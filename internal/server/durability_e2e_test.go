package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// cable is a TCP forwarder to PostgreSQL that a test can cut and mend, to
// take the store away from a running gateway for real.
type cable struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	frozen atomic.Bool
}

func newCable(t *testing.T, target string) *cable {
	c := &cable{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.serve(ln)
	t.Cleanup(c.cut)
	return c
}

func (c *cable) serve(ln net.Listener) {
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			for c.frozen.Load() {
				time.Sleep(10 * time.Millisecond)
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { c.pipe(out, in); out.Close() }()
			go func() { c.pipe(in, out); in.Close() }()
		}
	}()
}

// pipe copies src to dst, holding every chunk back while the cable is
// frozen, as a network that silently drops packets would.
func (c *cable) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for c.frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze stalls the cable without closing anything: packets are neither
// delivered nor refused, and new connections hang, like a partition.
func (c *cable) freeze() { c.frozen.Store(true) }

// thaw delivers what was held back and lets traffic flow again.
func (c *cable) thaw() { c.frozen.Store(false) }

func (c *cable) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cable) mend() {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatalf("re-listening on %s: %v", c.addr, err)
	}
	c.serve(ln)
}

// cabledPostgres gives the test its own schema on the test PostgreSQL
// server and a DSN that reaches it through a new cable.
func cabledPostgres(t *testing.T) (*cable, string) {
	dsn := storetest.PostgresDSN(t)
	hostStart := strings.Index(dsn, "@") + 1
	hostEnd := hostStart + strings.Index(dsn[hostStart:], "/")
	cab := newCable(t, dsn[hostStart:hostEnd])
	return cab, dsn[:hostStart] + cab.addr + dsn[hostEnd:]
}

// signedInOnPostgres starts a gateway on the PostgreSQL database dsn
// names, with one app, and a client signed in there as a viewer.
func signedInOnPostgres(t *testing.T, dsn string) (*upstream, *servertest.Gateway, *http.Client) {
	t.Helper()
	up := newUpstream(t)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Store = config.Store{Driver: "postgres", DSN: config.Secret(dsn)}
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	g.Login(t, c, "viewer@example.com", pw)
	return up, g, c
}

// waitFor polls until cond holds or the deadline passes, and returns how
// long it took.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, within)
	return 0
}

func status(t *testing.T, c *http.Client, url string) int {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestStoreOutageGives503AndRecovers(t *testing.T) {
	cab, viaCable := cabledPostgres(t)

	up, g, c := signedInOnPostgres(t, viaCable)
	if st := status(t, c, g.URL+"/x"); st != http.StatusOK {
		t.Fatalf("before the outage: %d", st)
	}

	cab.cut()
	took := waitFor(t, 8*time.Second, "503 after the store went away", func() bool {
		return status(t, c, g.URL+"/x") == http.StatusServiceUnavailable
	})
	if took > 6*time.Second {
		t.Errorf("503 came after %v, want within 5 s (+ polling)", took)
	}
	if st := status(t, http.DefaultClient, g.OpsURL+"/readyz"); st == http.StatusOK {
		t.Error("/readyz still answers 200 with the store down")
	}
	before := up.count()
	for range 5 {
		if st := status(t, c, g.URL+"/x"); st == http.StatusOK {
			t.Fatal("a request was forwarded while the store was down")
		}
	}
	if up.count() != before {
		t.Fatal("the upstream was reached while the store was down")
	}

	cab.mend()
	took = waitFor(t, 5*time.Second, "the same cookie works again after the store returned", func() bool {
		st := status(t, c, g.URL+"/x")
		if st == http.StatusUnauthorized {
			t.Fatal("the outage signed the browser out (401)")
		}
		return st == http.StatusOK
	})
	t.Logf("service back %v after the store returned", took.Round(time.Millisecond))
	waitFor(t, 5*time.Second, "/readyz back", func() bool {
		return status(t, http.DefaultClient, g.OpsURL+"/readyz") == http.StatusOK
	})
}

func TestSessionsAndKeysSurviveRestart(t *testing.T) {
	up := newUpstream(t)
	dir := t.TempDir()
	configure := func(c *config.Config) {
		c.Store = config.Store{Driver: "sqlite", DSN: config.Secret(dir + "/gatehouse.db")}
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}
	g := servertest.Start(t, servertest.Options{Configure: configure})
	g.CreateUser(t, account.NewAccount{Email: "d@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	g.Login(t, c, "d@example.com", pw)
	if st := status(t, c, g.URL+"/x"); st != http.StatusOK {
		t.Fatalf("before restart: %d", st)
	}
	jwksBefore := fetchJWKS(t, g)
	oldURL := g.URL
	// Stop abruptly-ish: the store file is all that survives.
	g.Stop()

	pub, err := net.Listen("tcp", g.Addr)
	if err != nil {
		t.Fatalf("re-listen: %v", err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := g.Config
	cfg.OpsListen = ops.Addr().String()
	g2 := servertest.StartWith(t, cfg, pub, ops, servertest.Options{})
	if g2.URL != oldURL {
		t.Fatalf("URL changed: %s vs %s", g2.URL, oldURL)
	}
	if st := status(t, c, g2.URL+"/x"); st != http.StatusOK {
		t.Fatalf("after restart the browser is signed out: %d", st)
	}
	verifyAssertion(t, g2, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"), "app")
	jwksAfter := fetchJWKS(t, g2)
	for _, k := range jwksBefore.Keys {
		if len(jwksAfter.Key(k.KeyID)) == 0 {
			t.Errorf("key %s vanished from the JWKS after restart", k.KeyID)
		}
	}
}

func TestKeyRotationKeepsOldAssertionsVerifiable(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "k@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	g.Login(t, c, "k@example.com", pw)
	status(t, c, g.URL+"/x")
	old := up.lastRequest(t).Header.Get("X-Gatehouse-Assertion")
	oldKid := g.Server.Keys.CurrentKeyID()

	g.Server.Keys.PublishDelay = 0
	newKid, err := g.Server.Keys.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid || g.Server.Keys.CurrentKeyID() != newKid {
		t.Fatalf("after rotation the signing key is %s (old %s, new %s)", g.Server.Keys.CurrentKeyID(), oldKid, newKid)
	}
	set := fetchJWKS(t, g)
	if len(set.Key(oldKid)) == 0 || len(set.Key(newKid)) == 0 {
		t.Fatal("the JWKS must publish both the old and the new key")
	}
	verifyAssertion(t, g, old, "app")
	// A new session gets an assertion signed by the new key.
	c2 := servertest.Client(t)
	g.Login(t, c2, "k@example.com", pw)
	status(t, c2, g.URL+"/x")
	fresh := up.lastRequest(t).Header.Get("X-Gatehouse-Assertion")
	verifyAssertion(t, g, fresh, "app")
	if kidOf(t, fresh) != newKid {
		t.Errorf("new assertion signed by %s, want %s", kidOf(t, fresh), newKid)
	}
}

// TestDatabaseRestartKeepsSessions stops and starts a real PostgreSQL
// server under a signed-in browser: an outage answers 503, never "sign in",
// and the same cookie works again soon after the database is back.
func TestDatabaseRestartKeepsSessions(t *testing.T) {
	pg := storetest.NewCluster(t)
	_, g, c := signedInOnPostgres(t, pg.DSN)
	if st := status(t, c, g.URL+"/x"); st != http.StatusOK {
		t.Fatalf("before the restart: %d", st)
	}

	for round := range 2 {
		pg.Stop()
		waitFor(t, 8*time.Second, "503 while the database is down", func() bool {
			st := status(t, c, g.URL+"/x")
			if st == http.StatusUnauthorized {
				t.Fatalf("round %d: the database outage signed the browser out (401)", round)
			}
			return st == http.StatusServiceUnavailable
		})
		pg.Start()
		took := waitFor(t, 5*time.Second, "the same cookie works again after the database restarted", func() bool {
			st := status(t, c, g.URL+"/x")
			if st == http.StatusUnauthorized {
				t.Fatalf("round %d: the session was lost across the database restart (401)", round)
			}
			return st == http.StatusOK
		})
		t.Logf("round %d: service back %v after the database restarted", round, took.Round(time.Millisecond))
	}
}

// TestStorePartitionGives503AndRecovers: a database that stops answering
// without closing anything (a network partition) must not hold requests:
// each gets 503 within 5 s, and the same cookie works again soon after the
// network heals.
func TestStorePartitionGives503AndRecovers(t *testing.T) {
	cab, viaCable := cabledPostgres(t)
	t.Cleanup(cab.thaw)

	_, g, c := signedInOnPostgres(t, viaCable)
	c.Timeout = 20 * time.Second
	if st := status(t, c, g.URL+"/x"); st != http.StatusOK {
		t.Fatalf("before the partition: %d", st)
	}

	cab.freeze()
	start := time.Now()
	for time.Since(start) < 8*time.Second {
		asked := time.Now()
		st := status(t, c, g.URL+"/x")
		if d := time.Since(asked); d > 5*time.Second {
			t.Fatalf("a request during the partition took %v (status %d), want an answer within 5 s", d, st)
		}
		if st == http.StatusUnauthorized {
			t.Fatal("the partition signed the browser out (401)")
		}
		if st == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := status(t, c, g.URL+"/x"); st != http.StatusServiceUnavailable {
		t.Fatalf("during the partition: %d, want 503", st)
	}

	cab.thaw()
	took := waitFor(t, 5*time.Second, "the same cookie works again after the partition healed", func() bool {
		st := status(t, c, g.URL+"/x")
		if st == http.StatusUnauthorized {
			t.Fatal("the session was lost across the partition (401)")
		}
		return st == http.StatusOK
	})
	t.Logf("service back %v after the partition healed", took.Round(time.Millisecond))
}
