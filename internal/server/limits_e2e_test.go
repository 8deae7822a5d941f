package server_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// storeRows counts the rows of every table of the gateway's store, read
// beside the gateway through a connection of its own, so nothing the
// store's interface leaves out can hide a write.
func storeRows(t *testing.T, g *servertest.Gateway) int {
	t.Helper()
	ctx := t.Context()
	total := 0
	if g.Config.Store.Driver == "postgres" {
		conn, err := pgx.Connect(ctx, string(g.Config.Store.DSN))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{tb}.Sanitize()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			total += n
		}
		return total
	}
	db, err := sql.Open("sqlite", string(g.Config.Store.DSN))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, tb := range tables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+tb+`"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

func auditRows(t *testing.T, g *servertest.Gateway) int {
	t.Helper()
	evs, err := g.Store.ListAudit(t.Context(), store.AuditQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// refusedMetric sums gatehouse_refused_requests_total over the label sets
// that match labels (a regular expression).
func refusedMetric(t *testing.T, g *servertest.Gateway, labels string) int {
	t.Helper()
	resp, err := http.Get(g.OpsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	re := regexp.MustCompile(`(?m)^gatehouse_refused_requests_total\{([^}]*)\} (\d+)$`)
	match := regexp.MustCompile(labels)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		if match.MatchString(m[1]) {
			v, _ := strconv.Atoi(m[2])
			n += v
		}
	}
	return n
}

// unauthRequests are one request to each unauthenticated endpoint that
// reads or writes the store, as anyone on the internet may send them.
func unauthRequests(base string) []*http.Request {
	form := func(path string, v url.Values) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, base+path, nil)
		return r
	}
	json := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	return []*http.Request{
		form("/.gatehouse/sso/corp/backchannel-logout", url.Values{"logout_token": {"not-a-token"}}),
		get("/.gatehouse/sso/corp/start?rd=/"),
		get("/.gatehouse/sso/corp/callback?state=x&code=y"),
		json("/.gatehouse/passkey/login/begin"),
		json("/.gatehouse/passkey/login/finish"),
		form("/.gatehouse/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong"}}),
		form("/.gatehouse/password/forgot", url.Values{"email": {"ada@example.com"}}),
		get("/.gatehouse/password/reset?token=x"),
		get("/.gatehouse/enrol?token=x"),
		json("/.gatehouse/enrol/begin"),
	}
}

// TestUnauthenticatedLimitBeforeAnyWrite: past its burst, a client address
// gets 429 with Retry-After from every unauthenticated endpoint, and not
// one row is written to the store, audit log or otherwise.
func TestUnauthenticatedLimitBeforeAnyWrite(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			idp := providertest.New(providertest.Options{})
			t.Cleanup(idp.Close)
			g := servertest.Start(t, servertest.Options{Postgres: pg, Configure: func(c *config.Config) {
				c.Providers = []config.Provider{{
					ID: "corp", Type: "oidc", DisplayName: "Corp SSO", Issuer: idp.Issuer,
					ClientID: idp.ClientID(), ClientSecret: config.Secret(idp.ClientSecret()),
					Scopes: []string{"openid", "email", "profile"},
				}}
				c.Limits.UnauthBurst = 4
				c.Limits.UnauthPerMinute = 1
			}})
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			send := func(r *http.Request) *http.Response {
				t.Helper()
				if r.GetBody != nil {
					r.Body, _ = r.GetBody()
				}
				resp, err := client.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			// The burst, spent on requests that do write.
			reqs := unauthRequests(g.URL)
			for _, r := range reqs[:4] {
				if resp := send(r); resp.StatusCode == http.StatusTooManyRequests {
					t.Fatalf("%s %s within the burst: 429", r.Method, r.URL.Path)
				}
			}
			rows, audits := storeRows(t, g), auditRows(t, g)
			const rounds = 20
			for range rounds {
				for _, r := range reqs {
					resp := send(r)
					if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
						t.Fatalf("%s %s past the burst: %d, Retry-After %q; want 429 with Retry-After",
							r.Method, r.URL.Path, resp.StatusCode, resp.Header.Get("Retry-After"))
					}
				}
			}
			if n := storeRows(t, g) - rows; n != 0 {
				t.Errorf("%d requests past the limit wrote %d store rows", rounds*len(reqs), n)
			}
			if n := auditRows(t, g) - audits; n != 0 {
				t.Errorf("%d requests past the limit wrote %d audit events", rounds*len(reqs), n)
			}
			if n := refusedMetric(t, g, `reason="rate_limited"`); n < rounds*len(reqs) {
				t.Errorf("gatehouse_refused_requests_total counts %d rate-limited requests, want %d", n, rounds*len(reqs))
			}
		})
	}
}

// TestUnauthenticatedNoiseIsCountedNotAudited: back-channel posts for an
// unknown provider, with the wrong content type or no token, and SSO
// callbacks with a made-up state write nothing to the audit log; they show
// in the metrics.
func TestUnauthenticatedNoiseIsCountedNotAudited(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g := ssoGateway(t, up, idp)
	audits := auditRows(t, g)
	noise := []struct {
		method, path, contentType, body string
	}{
		{"POST", "/.gatehouse/sso/nope/backchannel-logout", "application/x-www-form-urlencoded", "logout_token=x"},
		{"POST", "/.gatehouse/sso/corp/backchannel-logout", "application/json", `{"logout_token":"x"}`},
		{"POST", "/.gatehouse/sso/corp/backchannel-logout", "application/x-www-form-urlencoded", ""},
		{"GET", "/.gatehouse/sso/corp/callback?state=x", "", ""},
		{"GET", "/.gatehouse/sso/corp/callback", "", ""},
	}
	const each = 15
	for _, n := range noise {
		for range each {
			req, _ := http.NewRequest(n.method, g.URL+n.path, strings.NewReader(n.body))
			if n.contentType != "" {
				req.Header.Set("Content-Type", n.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("%s %s: %d, want a refusal that is not the rate limit", n.method, n.path, resp.StatusCode)
			}
		}
	}
	if n := auditRows(t, g) - audits; n != 0 {
		t.Errorf("%d noise requests wrote %d audit events, want none", each*len(noise), n)
	}
	if n := refusedMetric(t, g, `endpoint="backchannel_logout"`); n != 3*each {
		t.Errorf("back-channel noise counted %d times, want %d", n, 3*each)
	}
	if n := refusedMetric(t, g, `endpoint="sso_callback"`); n != 2*each {
		t.Errorf("callback noise counted %d times, want %d", n, 2*each)
	}
}
