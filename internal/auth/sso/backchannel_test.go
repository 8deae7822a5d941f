package sso

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

type endCall struct{ provider, sid, subject string }

// backChannel serves the back-channel logout endpoint for e's providers
// on a server of its own and records what it asks to end.
type backChannel struct {
	e     *env
	url   string
	mu    sync.Mutex
	ends  []endCall
	fails error    // EndSessions fails with it when set
	noise []string // the reasons counted as noise
}

func newBackChannel(e *env) *backChannel {
	b := &backChannel{e: e}
	var list []providers.Provider
	for _, p := range e.h.providers {
		list = append(list, p)
	}
	mux := http.NewServeMux()
	NewBackChannel(BackChannelDeps{
		Providers: list, Used: e.st, Audit: e.st, Throttle: e.st, Now: e.clk.Now, MaxBodyBytes: 8 << 10,
		Refused: func(endpoint, reason string) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.noise = append(b.noise, endpoint+":"+reason)
		},
		EndSessions: func(_ context.Context, provider, sid, subject string) ([]string, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.fails != nil {
				return nil, b.fails
			}
			b.ends = append(b.ends, endCall{provider, sid, subject})
			return []string{"session-of-" + sid + subject}, nil
		},
	}).Mount(mux)
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

func (b *backChannel) endpoint(provider string) string {
	return b.url + "/.gatehouse/sso/" + provider + "/backchannel-logout"
}

func (b *backChannel) noiseCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.noise)
}

func (b *backChannel) auditCount() int {
	b.e.t.Helper()
	evs, err := b.e.st.ListAudit(b.e.t.Context(), store.AuditQuery{Limit: 1000})
	if err != nil {
		b.e.t.Fatal(err)
	}
	return len(evs)
}

func (b *backChannel) calls() []endCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]endCall(nil), b.ends...)
}

func (b *backChannel) mint(provider string, l providertest.Logout, f providertest.Fault) string {
	b.e.t.Helper()
	tok, err := b.e.idps[provider].LogoutToken(l, f)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return tok
}

// post sends body with contentType and returns the status and the JSON
// error, if any.
func (b *backChannel) post(provider, contentType, body string) (*http.Response, logoutError) {
	b.e.t.Helper()
	resp, err := http.Post(b.endpoint(provider), contentType, strings.NewReader(body))
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var le logoutError
	if resp.StatusCode != http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&le); err != nil || le.Error == "" {
			b.e.t.Fatalf("%d without a JSON error body: %v", resp.StatusCode, err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			b.e.t.Fatalf("error Content-Type %q", ct)
		}
	}
	return resp, le
}

const formType = "application/x-www-form-urlencoded"

func tokenForm(tok string) string { return url.Values{"logout_token": {tok}}.Encode() }

func (b *backChannel) lastAudit() store.AuditEvent {
	b.e.t.Helper()
	evs, err := b.e.st.ListAudit(b.e.t.Context(), store.AuditQuery{Action: "sso.backchannel_logout", Limit: 1})
	if err != nil || len(evs) == 0 {
		b.e.t.Fatalf("no back-channel logout in the audit log: %v", err)
	}
	return evs[0]
}

func TestBackChannelLogoutAccepted(t *testing.T) {
	e := newEnv(t, nil)
	b := newBackChannel(e)
	tok := b.mint("corp", providertest.Logout{SID: "sid-1", Subject: "user-1"}, providertest.NoFault)
	resp, _ := b.post("corp", formType+"; charset=UTF-8", tokenForm(tok))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("valid token: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if got := b.calls(); len(got) != 1 || got[0] != (endCall{"corp", "sid-1", "user-1"}) {
		t.Fatalf("EndSessions calls %+v", got)
	}
	ev := b.lastAudit()
	if ev.Outcome != "ok" || ev.Target != "corp" || ev.Details["sid"] != "sid-1" || ev.Details["subject"] != "user-1" {
		t.Fatalf("audit %+v", ev)
	}
	raw, _ := json.Marshal(ev)
	if strings.Contains(string(raw), tok) || strings.Contains(string(raw), strings.Split(tok, ".")[1]) {
		t.Fatal("the audit log holds the logout token")
	}

	// The same token again: refused, nothing ended.
	resp, le := b.post("corp", formType, tokenForm(tok))
	if resp.StatusCode != http.StatusBadRequest || le.Error != "invalid_request" || len(b.calls()) != 1 {
		t.Fatalf("replay: %d %+v, %d calls", resp.StatusCode, le, len(b.calls()))
	}
	if ev := b.lastAudit(); ev.Outcome != "denied" || ev.Details["reason"] != "jti replayed" {
		t.Fatalf("replay audit %+v", ev)
	}

	// Entra's shape: the subject is the link key tid:oid.
	tok = b.mint("ms", providertest.Logout{Subject: "pairwise", Claims: map[string]any{"tid": "tenant-a", "oid": "oid-9"}}, providertest.NoFault)
	if resp, le := b.post("ms", formType, tokenForm(tok)); resp.StatusCode != http.StatusOK {
		t.Fatalf("Microsoft token: %d %+v", resp.StatusCode, le)
	}
	if got := b.calls(); len(got) != 2 || got[1] != (endCall{"ms", "", "tenant-a:oid-9"}) {
		t.Fatalf("EndSessions calls %+v", got)
	}
}

func TestBackChannelLogoutRefused(t *testing.T) {
	e := newEnv(t, nil)
	b := newBackChannel(e)
	valid := func() string { return b.mint("corp", providertest.Logout{SID: "sid-1"}, providertest.NoFault) }
	// Requests without a token to verify are noise: counted, not audited.
	// A token that fails verification is an attempt worth a line.
	cases := []struct {
		name, provider, contentType, body string
		status                            int
		noise                             bool
	}{
		{"unknown provider", "nope", formType, tokenForm(valid()), http.StatusNotFound, true},
		{"another provider's token", "google", formType, tokenForm(valid()), http.StatusBadRequest, false},
		{"JSON body", "corp", "application/json", `{"logout_token":"` + valid() + `"}`, http.StatusBadRequest, true},
		{"no content type", "corp", "", tokenForm(valid()), http.StatusBadRequest, true},
		{"no token", "corp", formType, "", http.StatusBadRequest, true},
		{"two tokens", "corp", formType, tokenForm(valid()) + "&" + tokenForm(valid()), http.StatusBadRequest, true},
		{"not a JWT", "corp", formType, tokenForm("not-a-jwt"), http.StatusBadRequest, false},
		{"bad form", "corp", formType, "logout_token=%zz", http.StatusBadRequest, true},
		{"too large", "corp", formType, tokenForm(valid()) + "&pad=" + strings.Repeat("x", 9<<10), http.StatusRequestEntityTooLarge, true},
		{"ID token fault", "corp", formType, tokenForm(b.mint("corp", providertest.Logout{SID: "s"}, providertest.BadSignature)), http.StatusBadRequest, false},
		{"logout token fault", "corp", formType, tokenForm(b.mint("corp", providertest.Logout{SID: "s"}, providertest.LogoutWithNonce)), http.StatusBadRequest, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			audits, noise := b.auditCount(), b.noiseCount()
			resp, le := b.post(tc.provider, tc.contentType, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %+v, want %d", resp.StatusCode, le, tc.status)
			}
			if tc.noise {
				if b.auditCount() != audits || b.noiseCount() != noise+1 {
					t.Fatalf("noise: %d audit events and %d counted, want none and one", b.auditCount()-audits, b.noiseCount()-noise)
				}
				return
			}
			if ev := b.lastAudit(); ev.Outcome != "denied" || ev.Actor != "anonymous" || ev.Details["reason"] == "" {
				t.Fatalf("audit %+v", ev)
			}
		})
	}
	if n := len(b.calls()); n != 0 {
		t.Fatalf("refused requests ended sessions %d times", n)
	}
	// The token in the query string is not read.
	resp, err := http.Post(b.endpoint("corp")+"?"+tokenForm(valid()), formType, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token in the query: %d", resp.StatusCode)
	}
	// GET is not a logout.
	resp, err = http.Get(b.endpoint("corp"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestBackChannelLogoutStoreFailure(t *testing.T) {
	e := newEnv(t, nil)
	b := newBackChannel(e)
	b.fails = errors.New("store: unavailable")
	tok := b.mint("corp", providertest.Logout{SID: "sid-1"}, providertest.NoFault)
	resp, le := b.post("corp", formType, tokenForm(tok))
	if resp.StatusCode != http.StatusServiceUnavailable || le.Error != "temporarily_unavailable" {
		t.Fatalf("ending failed: %d %+v", resp.StatusCode, le)
	}
	if ev := b.lastAudit(); ev.Outcome != "error" {
		t.Fatalf("audit %+v", ev)
	}
	// Nothing ended, so the same token delivered again works.
	b.mu.Lock()
	b.fails = nil
	b.mu.Unlock()
	if resp, le := b.post("corp", formType, tokenForm(tok)); resp.StatusCode != http.StatusOK || len(b.calls()) != 1 {
		t.Fatalf("the same token after the failure: %d %+v, %d calls", resp.StatusCode, le, len(b.calls()))
	}
}

func TestSignInPassesProviderSession(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp"})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
	calls := e.calls()
	last := calls[len(calls)-1]
	if last.ProviderSID == "" || last.ProviderSID != e.idps["corp"].LastSID() || last.ProviderSubject != "user-1" {
		t.Fatalf("session start %+v, want the provider's sid %q and subject user-1", last, e.idps["corp"].LastSID())
	}
}

func TestBackChannelLogoutThrottlesRefusedTokens(t *testing.T) {
	e := newEnv(t, nil)
	b := newBackChannel(e)
	bad := b.mint("corp", providertest.Logout{SID: "sid-1"}, providertest.UnknownKid)
	for i := range RefusedTokenLimit {
		if resp, _ := b.post("corp", formType, tokenForm(bad)); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("refused token %d: %d", i+1, resp.StatusCode)
		}
	}
	jwks := e.idps["corp"].JWKSRequests()
	good := b.mint("corp", providertest.Logout{SID: "sid-1"}, providertest.NoFault)
	resp, _ := b.post("corp", formType, tokenForm(good))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d refused tokens: %d, Retry-After %q", RefusedTokenLimit, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if e.idps["corp"].JWKSRequests() != jwks || len(b.calls()) != 0 {
		t.Fatal("a throttled request was verified or acted on")
	}
	e.clk.Add(RefusedTokenWindow)
	good = b.mint("corp", providertest.Logout{SID: "sid-1"}, providertest.NoFault)
	if resp, le := b.post("corp", formType, tokenForm(good)); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d %+v", resp.StatusCode, le)
	}
	// Valid tokens are never counted.
	for range RefusedTokenLimit + 1 {
		tok := b.mint("corp", providertest.Logout{SID: "sid-2"}, providertest.NoFault)
		if resp, le := b.post("corp", formType, tokenForm(tok)); resp.StatusCode != http.StatusOK {
			t.Fatalf("valid token: %d %+v", resp.StatusCode, le)
		}
	}
}
