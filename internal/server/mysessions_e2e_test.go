package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// User-Agent headers of the test clients, and how the pages name them.
const (
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaSafariMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	uaEdgeWindows    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)

// userAgent sends a fixed User-Agent on every request.
type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// clientAs is a servertest client that presents itself as ua.
func clientAs(t *testing.T, ua string) *http.Client {
	c := servertest.Client(t)
	c.Transport = userAgent{ua: ua, next: http.DefaultTransport}
	return c
}

// sessionOf finds the stored session of the account that ua signed in.
func sessionOf(t *testing.T, g *servertest.Gateway, accountID, ua string) store.Session {
	t.Helper()
	list, err := g.Store.ListAccountSessions(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.UserAgent == ua {
			return s
		}
	}
	t.Fatalf("no session of %s with User-Agent %q", accountID, ua)
	return store.Session{}
}

// appStatus is the status of a proxied request with c's session.
func appStatus(t *testing.T, g *servertest.Gateway, c *http.Client) int {
	t.Helper()
	_, resp := g.Get(t, c, "/docs", "application/json")
	return resp.StatusCode
}

// auditEvents lists the successful audit events of one action, newest first.
func auditEvents(t *testing.T, g *servertest.Gateway, action string) []store.AuditEvent {
	t.Helper()
	events, err := g.Store.ListAudit(context.Background(), store.AuditQuery{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEvent
	for _, e := range events {
		if e.Action == action && e.Outcome == "ok" {
			out = append(out, e)
		}
	}
	return out
}

// TestAccountPageSessions: the account page lists the person's own live
// sessions with device, method and address; ending one or "everywhere
// else" needs the CSRF token, never reaches another account's session,
// never the current one, takes effect on the very next request and is
// audited.
func TestAccountPageSessions(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	ada := g.CreateUser(t, account.NewAccount{Email: "ada@example.com", Password: pw, CompanyID: "acme", Role: "viewer", DateFormat: "DD/MM/YYYY"})
	bob := g.CreateUser(t, account.NewAccount{Email: "bob@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})

	here, laptop := clientAs(t, uaFirefoxWindows), clientAs(t, uaSafariMac)
	bobC := clientAs(t, uaEdgeWindows)
	g.Login(t, here, "ada@example.com", pw)
	g.Login(t, laptop, "ada@example.com", pw)
	g.Login(t, bobC, "bob@example.com", pw)
	hereS, laptopS := sessionOf(t, g, ada.ID, uaFirefoxWindows), sessionOf(t, g, ada.ID, uaSafariMac)
	bobS := sessionOf(t, g, bob.ID, uaEdgeWindows)

	body, resp := g.Get(t, here, "/.gatehouse/account/", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	for _, want := range []string{"Firefox on Windows", "Safari on MacOS", "127.0.0.1", "Password",
		`data-session="` + hereS.ID + `" data-current="true"`, `data-session="` + laptopS.ID + `">`,
		hereS.CreatedAt.UTC().Format("02/01/2006"), `id="end-others"`} {
		if !strings.Contains(body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if strings.Contains(body, bobS.ID) || strings.Contains(body, uaEdgeWindows) {
		t.Error("account page shows another account's session")
	}
	if n := strings.Count(body, "data-session="); n != 2 {
		t.Errorf("account page lists %d sessions, want 2", n)
	}
	// The current session's end is signing out, not a button in the list.
	if strings.Contains(body, `name="id" value="`+hereS.ID+`"`) {
		t.Error("the current session has an end button")
	}

	token := g.CSRFToken(t, here, "/.gatehouse/account/")
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		_, resp := g.PostForm(t, here, path, form)
		return resp
	}
	stillIn := func(what string, clients ...*http.Client) {
		t.Helper()
		for _, c := range clients {
			if code := appStatus(t, g, c); code != http.StatusOK {
				t.Fatalf("%s: a session that should stay got %d", what, code)
			}
		}
	}

	// Without or with a wrong CSRF token: 403, and nothing ends.
	for _, tok := range []string{"", "wrong" + token} {
		form := url.Values{"id": {laptopS.ID}}
		if tok != "" {
			form.Set("csrf_token", tok)
		}
		if resp := post("/.gatehouse/account/sessions/end", form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("end with csrf %q: %d, want 403", tok, resp.StatusCode)
		}
		form.Del("id")
		if resp := post("/.gatehouse/account/sessions/end-others", form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("end others with csrf %q: %d, want 403", tok, resp.StatusCode)
		}
	}
	stillIn("after refused CSRF", here, laptop, bobC)

	// Another account's session, or one that does not exist: not found.
	for _, id := range []string{bobS.ID, "no-such-session"} {
		if resp := post("/.gatehouse/account/sessions/end", url.Values{"id": {id}, "csrf_token": {token}}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("end %q: %d, want 404", id, resp.StatusCode)
		}
	}
	stillIn("after ending another account's session", here, laptop, bobC)

	// The current session from the list: refused, signing out does that.
	if resp := post("/.gatehouse/account/sessions/end", url.Values{"id": {hereS.ID}, "csrf_token": {token}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("end the current session: %d, want 409", resp.StatusCode)
	}
	stillIn("after trying to end the current session", here)
	if n := len(auditEvents(t, g, "session.end")); n != 0 {
		t.Fatalf("%d session.end events after refused attempts", n)
	}

	// One of the person's others: gone at the next request.
	resp = post("/.gatehouse/account/sessions/end", url.Values{"id": {laptopS.ID}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/.gatehouse/account/?notice=ended" {
		t.Fatalf("end one: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := appStatus(t, g, laptop); code != http.StatusUnauthorized {
		t.Fatalf("ended session's next request: %d, want 401", code)
	}
	stillIn("after ending one", here, bobC)
	ev := auditEvents(t, g, "session.end")
	if len(ev) != 1 || ev[0].Actor != ada.ID || ev[0].IP != "127.0.0.1" || ev[0].Details["session"] != laptopS.ID || ev[0].Details["from_session"] != hereS.ID {
		t.Fatalf("session.end audit: %+v", ev)
	}

	// Everywhere else: two more sign-ins end, this one stays, Bob's stays.
	phone, tablet := clientAs(t, uaSafariMac), clientAs(t, uaEdgeWindows)
	g.Login(t, phone, "ada@example.com", pw)
	g.Login(t, tablet, "ada@example.com", pw)
	resp = post("/.gatehouse/account/sessions/end-others", url.Values{"csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/.gatehouse/account/?notice=others_ended" {
		t.Fatalf("end others: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range []*http.Client{phone, tablet} {
		if code := appStatus(t, g, c); code != http.StatusUnauthorized {
			t.Fatalf("a session ended everywhere else: next request %d, want 401", code)
		}
	}
	stillIn("after everywhere else", here, bobC)
	ev = auditEvents(t, g, "session.end_others")
	if len(ev) != 1 || ev[0].Actor != ada.ID || ev[0].IP != "127.0.0.1" || ev[0].Details["kept_session"] != hereS.ID || ev[0].Details["sessions_ended"] != float64(2) {
		t.Fatalf("session.end_others audit: %+v", ev)
	}
	body, _ = g.Get(t, here, "/.gatehouse/account/?notice=others_ended", "text/html")
	if n := strings.Count(body, "data-session="); n != 1 || !strings.Contains(body, "Signed out everywhere else") || strings.Contains(body, `id="end-others"`) {
		t.Fatalf("account page after everywhere else: %d sessions listed: %.2000s", n, body)
	}
}

// adminCall sends an admin API request with c's session and the CSRF header,
// returning the status and the raw body.
func adminCall(t *testing.T, g *servertest.Gateway, c *http.Client, csrf, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminAccountSessionsAPI: admins list an account's sessions and end
// one through the JSON API and the panel; a session of another account is
// not found, non-admins and calls without the CSRF header are refused,
// and every end is audited.
func TestAdminAccountSessionsAPI(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	ada := g.CreateUser(t, account.NewAccount{Email: "ada@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	bob := g.CreateUser(t, account.NewAccount{Email: "bob@example.com", Password: pw, CompanyID: "acme", Role: "manager"})

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/account/")
	adaWin, adaMac, bobC := clientAs(t, uaFirefoxWindows), clientAs(t, uaSafariMac), clientAs(t, uaEdgeWindows)
	g.Login(t, adaWin, "ada@example.com", pw)
	g.Login(t, adaMac, "ada@example.com", pw)
	g.Login(t, bobC, "bob@example.com", pw)
	winS, macS := sessionOf(t, g, ada.ID, uaFirefoxWindows), sessionOf(t, g, ada.ID, uaSafariMac)
	bobS := sessionOf(t, g, bob.ID, uaEdgeWindows)
	base := "/.gatehouse/api/v1/accounts/" + ada.ID + "/sessions"

	t.Run("list", func(t *testing.T) {
		code, body := adminCall(t, g, admin, "", http.MethodGet, base)
		if code != http.StatusOK {
			t.Fatalf("list: %d %s", code, body)
		}
		var out struct {
			Sessions []map[string]any `json:"sessions"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Sessions) != 2 {
			t.Fatalf("list has %d sessions, want 2: %s", len(out.Sessions), body)
		}
		byID := map[string]map[string]any{}
		for _, s := range out.Sessions {
			byID[s["id"].(string)] = s
			var keys []string
			for k := range s {
				keys = append(keys, k)
			}
			for _, k := range []string{"id", "created_at", "last_seen_at", "expires_at", "method", "amr", "idp", "ip", "user_agent", "device"} {
				if _, ok := s[k]; !ok {
					t.Errorf("session lacks %q: %v", k, keys)
				}
			}
			if len(s) != 10 {
				t.Errorf("session has other fields than the documented ones: %v", keys)
			}
		}
		w := byID[winS.ID]
		if w == nil || w["method"] != "password" || w["idp"] != "local" || w["ip"] != "127.0.0.1" || w["user_agent"] != uaFirefoxWindows {
			t.Fatalf("windows session: %v", w)
		}
		if amr, _ := w["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
			t.Errorf("amr: %v", w["amr"])
		}
		if d, _ := w["device"].(map[string]any); d["browser"] != "Firefox" || d["os"] != "Windows" {
			t.Errorf("device: %v", w["device"])
		}
		if m := byID[macS.ID]; m == nil || m["device"].(map[string]any)["os"] != "MacOS" {
			t.Errorf("mac session: %v", m)
		}
		if strings.Contains(body, bobS.ID) || strings.Contains(strings.ToLower(body), "token") || strings.Contains(body, "hash") {
			t.Fatalf("list shows another account's session or a token: %s", body)
		}
	})

	t.Run("refused", func(t *testing.T) {
		// A viewer and a manager have no admin panel: 403 to list and end.
		for _, c := range []*http.Client{adaWin, bobC} {
			tok := g.CSRFToken(t, c, "/.gatehouse/account/")
			if code, body := adminCall(t, g, c, "", http.MethodGet, base); code != http.StatusForbidden {
				t.Fatalf("non-admin list: %d %s", code, body)
			}
			if code, body := adminCall(t, g, c, tok, http.MethodDelete, base+"/"+macS.ID); code != http.StatusForbidden {
				t.Fatalf("non-admin end: %d %s", code, body)
			}
		}
		if code, body := adminCall(t, g, admin, "", http.MethodDelete, base+"/"+macS.ID); code != http.StatusForbidden {
			t.Fatalf("end without the CSRF header: %d %s", code, body)
		}
		// Bob's session under Ada's account, or one that does not exist: 404.
		for _, sid := range []string{bobS.ID, "no-such-session"} {
			if code, body := adminCall(t, g, admin, csrf, http.MethodDelete, base+"/"+sid); code != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
				t.Fatalf("end %s under another account: %d %s", sid, code, body)
			}
		}
		if code, body := adminCall(t, g, admin, "", http.MethodGet, "/.gatehouse/api/v1/accounts/acct_nope/sessions"); code != http.StatusNotFound {
			t.Fatalf("list of an unknown account: %d %s", code, body)
		}
		for _, c := range []*http.Client{adaWin, adaMac, bobC} {
			if code := appStatus(t, g, c); code != http.StatusOK {
				t.Fatalf("a refused call ended a session: %d", code)
			}
		}
		if n := len(auditEvents(t, g, "account.session.end")); n != 0 {
			t.Fatalf("%d successful account.session.end events after refused calls", n)
		}
		// The Guard records the refusals themselves.
		if !pkAuditHas(t, g, "account.session.end", "denied") {
			t.Error("refused ends are not audited")
		}
	})

	t.Run("end one", func(t *testing.T) {
		if code, body := adminCall(t, g, admin, csrf, http.MethodDelete, base+"/"+macS.ID); code != http.StatusNoContent {
			t.Fatalf("end: %d %s", code, body)
		}
		if code := appStatus(t, g, adaMac); code != http.StatusUnauthorized {
			t.Fatalf("ended session's next request: %d, want 401", code)
		}
		if code := appStatus(t, g, adaWin); code != http.StatusOK {
			t.Fatalf("the account's other session: %d", code)
		}
		ev := auditEvents(t, g, "account.session.end")
		adminAcc, _ := g.Store.GetAccountByEmail(context.Background(), "admin@example.com")
		if len(ev) != 1 || ev[0].Actor != adminAcc.ID || ev[0].Target != ada.ID || ev[0].IP != "127.0.0.1" || ev[0].Details["session"] != macS.ID {
			t.Fatalf("audit: %+v", ev)
		}
		if code, _ := adminCall(t, g, admin, csrf, http.MethodDelete, base+"/"+macS.ID); code != http.StatusNotFound {
			t.Fatalf("ending it again: %d, want 404", code)
		}
	})

	t.Run("panel", func(t *testing.T) {
		page := "/.gatehouse/admin/users/" + ada.ID
		body, resp := g.Get(t, admin, page, "text/html")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="sessions-table"`) || !strings.Contains(body, "Firefox on Windows") ||
			!strings.Contains(body, `data-session="`+winS.ID+`"`) || strings.Contains(body, macS.ID) {
			t.Fatalf("user page sessions: %d %.3000s", resp.StatusCode, body)
		}
		token := g.CSRFToken(t, admin, page)
		if _, resp := g.PostForm(t, admin, page+"/sessions/"+winS.ID+"/end", url.Values{}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("panel end without CSRF: %d", resp.StatusCode)
		}
		_, resp = g.PostForm(t, admin, page+"/sessions/"+bobS.ID+"/end", url.Values{"csrf_token": {token}})
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "error=no_session") {
			t.Fatalf("panel end of another account's session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if code := appStatus(t, g, bobC); code != http.StatusOK {
			t.Fatalf("bob's session after the refused panel end: %d", code)
		}
		_, resp = g.PostForm(t, admin, page+"/sessions/"+winS.ID+"/end", url.Values{"csrf_token": {token}})
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "notice=session_ended") {
			t.Fatalf("panel end: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if code := appStatus(t, g, adaWin); code != http.StatusUnauthorized {
			t.Fatalf("session ended from the panel: next request %d, want 401", code)
		}
		if n := len(auditEvents(t, g, "account.session.end")); n != 2 {
			t.Fatalf("%d account.session.end events, want 2", n)
		}
		body, _ = g.Get(t, admin, page, "text/html")
		if !strings.Contains(body, `id="no-sessions"`) {
			t.Fatalf("user page after the last end: %.2000s", body)
		}
	})
}

// TestAccountPageNamesSSOProvider: a session started through single
// sign-on shows the provider's display name on the account page, and its
// method and idp in the admin API.
func TestAccountPageNamesSSOProvider(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g := ssoGateway(t, up, idp)
	acct := g.CreateUser(t, account.NewAccount{Email: "linus@example.com", FirstName: "L", LastName: "T", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	idp.SetUser(providertest.User{Subject: "idp-123", Email: "linus@example.com", EmailVerified: true, GivenName: "Linus", FamilyName: "Torvalds"})

	c := clientAs(t, uaEdgeWindows)
	if resp, body := follow(t, c, g.URL+"/.gatehouse/sso/corp/start?rd=/docs"); resp.StatusCode != http.StatusOK {
		t.Fatalf("SSO sign-in: %d %q", resp.StatusCode, body)
	}
	body, resp := g.Get(t, c, "/.gatehouse/account/", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Single sign-on (Corp SSO)") || !strings.Contains(body, "Edge on Windows") {
		t.Fatalf("account page of an SSO session: %d %.3000s", resp.StatusCode, body)
	}

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	code, out := adminCall(t, g, admin, "", http.MethodGet, "/.gatehouse/api/v1/accounts/"+acct.ID+"/sessions")
	if code != http.StatusOK || !strings.Contains(out, `"method":"sso"`) || !strings.Contains(out, `"idp":"corp"`) || !strings.Contains(out, `"amr":["fed"]`) {
		t.Fatalf("API list of an SSO session: %d %s", code, out)
	}
}
