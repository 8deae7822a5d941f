package gate

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mfaRole is an identity whose role in the company requires MFA.
type mfaRole struct{ fixedIdentity }

func (m *mfaRole) Identity(ctx context.Context, accountID, company string) (account.Identity, error) {
	id, err := m.fixedIdentity.Identity(ctx, accountID, company)
	id.MFARequired = true
	return id, err
}

var stepUpRoutes = []config.Route{
	{PathPrefix: "/mfa/", Allow: config.Allow{MFA: true}},
	{PathPrefix: "/fresh/", Allow: config.Allow{MaxAge: config.Duration(10 * time.Minute)}},
	{PathPrefix: "/hwk/", Allow: config.Allow{AMR: []string{"hwk"}}},
	{PathPrefix: "/otp-or-fed/", Allow: config.Allow{AMR: []string{"otp", "fed"}}},
	{PathPrefix: "/admins-fresh/", Allow: config.Allow{Roles: []string{"admin"}, MaxAge: config.Duration(10 * time.Minute)}},
	{PathPrefix: "/", Allow: config.Allow{}},
}

func stepUpGate(t *testing.T, sess store.Session, ids Identities, now func() time.Time) *Gate {
	t.Helper()
	routes := slices.Clone(stepUpRoutes)
	for i := range routes {
		routes[i].Upstream, routes[i].Audience, routes[i].Company = "http://127.0.0.1:9", "app", "acme"
	}
	router, err := proxy.NewRouter(routes, proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(router, oneSession{sess}, ids, &countingSigner{}, 1000, now, slog.New(slog.DiscardHandler))
}

func TestStepUp(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		amr  []string
		age  time.Duration
		mfa  bool // the role requires MFA
		path string
		want Outcome
	}{
		{"no step-up settings, password", []string{"pwd"}, time.Hour, false, "/x", Allow},
		{"mfa route, password", []string{"pwd"}, 0, false, "/mfa/x", StepUp},
		{"mfa route, password and code", []string{"pwd", "otp", "mfa"}, 0, false, "/mfa/x", Allow},
		{"mfa route, device-bound passkey", []string{"hwk"}, 0, false, "/mfa/x", Allow},
		{"mfa route, synced passkey", []string{"swk"}, 0, false, "/mfa/x", Allow},
		{"mfa route, SSO without mfa", []string{"fed"}, 0, false, "/mfa/x", StepUp},
		{"mfa route, SSO with mfa", []string{"fed", "mfa"}, 0, false, "/mfa/x", Allow},
		{"max_age, recent", []string{"pwd"}, 9 * time.Minute, false, "/fresh/x", Allow},
		{"max_age, old", []string{"pwd"}, 11 * time.Minute, false, "/fresh/x", StepUp},
		{"max_age, old passkey", []string{"hwk"}, 11 * time.Minute, false, "/fresh/x", StepUp},
		{"hwk route, device-bound passkey", []string{"hwk"}, 0, false, "/hwk/x", Allow},
		{"hwk route, synced passkey", []string{"swk"}, 0, false, "/hwk/x", StepUp},
		{"hwk route, password and code", []string{"pwd", "otp", "mfa"}, 0, false, "/hwk/x", StepUp},
		{"amr any of, fed", []string{"fed"}, 0, false, "/otp-or-fed/x", Allow},
		{"amr any of, pwd", []string{"pwd"}, 0, false, "/otp-or-fed/x", StepUp},
		{"role requires mfa, password", []string{"pwd"}, 0, true, "/x", StepUp},
		{"role requires mfa, code", []string{"pwd", "otp", "mfa"}, 0, true, "/x", Allow},
		// Not allowed at all stays a plain refusal: no re-authentication
		// can change the role.
		{"role refused and stale", []string{"pwd"}, time.Hour, false, "/admins-fresh/x", Deny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktest.New(start.Add(tc.age))
			sess := store.Session{ID: "sid-1", AccountID: "acc-1", AMR: tc.amr, IDP: "local", CreatedAt: start}
			var ids Identities = &fixedIdentity{}
			if tc.mfa {
				ids = &mfaRole{}
			}
			g := stepUpGate(t, sess, ids, clk.Now)
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			d := g.Decide(r.Context(), r, "localhost", tc.path)
			if d.Outcome != tc.want {
				t.Fatalf("Decide(%s) with amr %v, %s old = %v, want %v", tc.path, tc.amr, tc.age, d.Outcome, tc.want)
			}
			if d.Outcome == StepUp && d.Identity != nil {
				t.Fatal("a step-up decision carries an identity")
			}
		})
	}
}

// TestStepUpAnswers: a browser navigation goes to the re-authentication
// page with the original URL; anything else gets 401 step_up_required
// with what is required; verify answers alike for forward-auth.
func TestStepUpAnswers(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clk := clocktest.New(start.Add(time.Hour))
	sess := store.Session{ID: "sid-1", AccountID: "acc-1", AMR: []string{"pwd"}, IDP: "local", CreatedAt: start}
	h := NewHandler(HandlerDeps{Gate: stepUpGate(t, sess, &fixedIdentity{}, clk.Now), PublicURL: "https://gate.example.com", Now: clk.Now})

	check := func(t *testing.T, w *httptest.ResponseRecorder, html bool, wantTarget string) {
		t.Helper()
		if html {
			loc, err := url.Parse(w.Header().Get("Location"))
			if w.Code != http.StatusFound || err != nil {
				t.Fatalf("browser: %d, Location %q", w.Code, w.Header().Get("Location"))
			}
			q := loc.Query()
			if loc.Path != StepUpPath || q.Get("rd") != wantTarget || q.Get("max_age") != "600" {
				t.Fatalf("browser sent to %q, want %s with rd=%s and max_age=600", loc, StepUpPath, wantTarget)
			}
			return
		}
		var body struct {
			Error struct {
				Code     string `json:"code"`
				Message  string `json:"message"`
				Required Need   `json:"required"`
			} `json:"error"`
		}
		if w.Code != http.StatusUnauthorized || json.Unmarshal(w.Body.Bytes(), &body) != nil {
			t.Fatalf("API: %d %s", w.Code, w.Body)
		}
		if body.Error.Code != "step_up_required" || body.Error.Message == "" || body.Error.Required.MaxAge != 600 || body.Error.Required.MFA {
			t.Fatalf("API body %s", w.Body)
		}
	}
	for _, html := range []bool{true, false} {
		r := httptest.NewRequest(http.MethodGet, "/fresh/report?id=7", nil)
		if html {
			r.Header.Set("Accept", "text/html")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		check(t, w, html, "/fresh/report?id=7")

		r = httptest.NewRequest(http.MethodGet, "/.gatehouse/verify", nil)
		r.Header.Set("X-Forwarded-Host", "app.example.com")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Uri", "/fresh/report?id=7")
		if html {
			r.Header.Set("Accept", "text/html")
		}
		w = httptest.NewRecorder()
		h.Verify(w, r)
		if html {
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil || loc.Scheme+"://"+loc.Host != "https://gate.example.com" {
				t.Fatalf("verify sent a browser to %q, not the absolute re-authentication page", w.Header().Get("Location"))
			}
			w.Header().Set("Location", loc.RequestURI())
			check(t, w, true, "https://app.example.com/fresh/report?id=7")
			continue
		}
		check(t, w, false, "")
	}
}
