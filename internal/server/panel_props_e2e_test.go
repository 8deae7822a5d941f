package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// postMultipart posts fields as multipart/form-data, as a file upload does.
func postMultipart(t *testing.T, g *servertest.Gateway, c *http.Client, path string, fields map[string]string, file string) (string, *http.Response) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if file != "" {
		fw, err := mw.CreateFormFile("file", "values.csv")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, file)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, g.URL+path, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp
}

// attr finds the value of the first match of re's group 1, unescaped.
func attr(t *testing.T, body, what string, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s not found in page:\n%s", what, body)
	}
	return html.UnescapeString(m[1])
}

// wantStatus fails unless resp has status want.
func wantStatus(t *testing.T, what string, resp *http.Response, want int, body string) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d (Location %q)\n%s", what, resp.StatusCode, want, resp.Header.Get("Location"), body)
	}
}

// wantNotice checks a change answered 303 with the notice code.
func wantNotice(t *testing.T, what string, resp *http.Response, notice string, body string) {
	t.Helper()
	wantStatus(t, what, resp, http.StatusSeeOther, body)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got := loc.Query().Get("notice"); got != notice {
		t.Fatalf("%s: redirected to %s, want notice %s", what, loc, notice)
	}
}

var (
	reEnrolLink     = regexp.MustCompile(`id="enrolment-link"[^>]*href="([^"]+)"`)
	reQR            = regexp.MustCompile(`id="enrolment-qr"[^>]*src="data:image/png;base64,([^"]+)"`)
	reRuleID        = regexp.MustCompile(`href="/\.gatehouse/admin/rules/(rule_[a-z0-9]+)"`)
	reImportData    = regexp.MustCompile(`name="data" value="([^"]+)"`)
	reImportConfirm = regexp.MustCompile(`name="confirm" value="([^"]+)"`)
)

func TestPanelWorkstationsAndPasskeys(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: panelPW, CompanyID: "acme", Role: "admin"})
	ws := g.CreateUser(t, account.NewAccount{Email: "ws@example.com", Password: panelPW, CompanyID: "acme", Role: "shared_computer", Kind: store.KindSharedComputer})
	alice := g.CreateUser(t, account.NewAccount{Email: "alice@example.com", Password: panelPW, CompanyID: "acme", Role: "viewer"})

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", panelPW)
	userPath := "/.gatehouse/admin/users/" + ws.ID
	csrf := g.CSRFToken(t, admin, userPath)
	body, resp := g.Get(t, admin, userPath, "text/html")
	wantStatus(t, "shared user page", resp, http.StatusOK, body)
	for _, want := range []string{`id="enrolment-form"`, `id="networks-form"`, `id="no-passkeys"`} {
		if !strings.Contains(body, want) {
			t.Errorf("shared user page lacks %s", want)
		}
	}
	// A personal account has no enrolment form.
	if body, _ := g.Get(t, admin, "/.gatehouse/admin/users/"+alice.ID, "text/html"); strings.Contains(body, `id="enrolment-form"`) {
		t.Error("a personal account's page offers a workstation enrolment")
	}

	// The enrolment link is shown once, as a link and as a QR code of it.
	body, resp = g.PostForm(t, admin, userPath+"/enrolments", url.Values{"csrf_token": {csrf}, "name": {"Line 3 PC"}})
	wantStatus(t, "create enrolment", resp, http.StatusCreated, body)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("enrolment page Cache-Control %q, want no-store", cc)
	}
	link := attr(t, body, "enrolment link", reEnrolLink)
	if prefix := g.Config.PublicURL + "/.gatehouse/enrol?token="; !strings.HasPrefix(link, prefix) || len(link) == len(prefix) {
		t.Fatalf("enrolment link %q does not start with %q", link, prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(attr(t, body, "QR image", reQR))
	if err != nil {
		t.Fatalf("QR image is not base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("QR image is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dx() != b.Dy() {
		t.Errorf("QR image is %v, want a square of at least 100px", b)
	}
	// The link works: the enrolment page opens with it.
	u, _ := url.Parse(link)
	if body, resp := g.Get(t, servertest.Client(t), u.RequestURI(), "text/html"); resp.StatusCode != http.StatusOK {
		t.Fatalf("enrolment link answers %d\n%s", resp.StatusCode, body)
	}
	// Not for a personal account.
	_, resp = g.PostForm(t, admin, "/.gatehouse/admin/users/"+alice.ID+"/enrolments", url.Values{"csrf_token": {csrf}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=not_shared_computer") {
		t.Fatalf("enrolment of a personal account: %d %s", resp.StatusCode, loc)
	}
	// Without the CSRF token nothing is made.
	_, resp = g.PostForm(t, admin, userPath+"/enrolments", url.Values{})
	wantStatus(t, "enrolment without csrf", resp, http.StatusForbidden, "")

	// Passkeys are listed and revoked; revoking ends the sessions signed
	// in with that passkey.
	credID := []byte("workstation-credential-1")
	now := time.Now().UTC()
	if err := g.Store.CreateCredential(ctx, store.Credential{ID: credID, AccountID: ws.ID, Name: "Line 3 PC", PublicKey: []byte{1, 2, 3},
		Workstation: true, CreatedAt: now, LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := g.Store.CreateSession(ctx, store.Session{ID: "sess-ws-1", TokenHash: []byte("token-hash-ws-1"), AccountID: ws.ID, AMR: []string{"hwk"}, IDP: "local", CredentialID: credID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	body, _ = g.Get(t, admin, userPath, "text/html")
	for _, want := range []string{`data-passkey="Line 3 PC"`, "Workstation", "Device-bound"} {
		if !strings.Contains(body, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	enc := base64.RawURLEncoding.EncodeToString(credID)
	if !strings.Contains(body, "/passkeys/"+enc+"/revoke\" data-confirm=") {
		t.Error("the revoke form has no data-confirm")
	}
	body, resp = g.PostForm(t, admin, userPath+"/passkeys/"+enc+"/revoke", url.Values{"csrf_token": {csrf}})
	wantNotice(t, "revoke passkey", resp, "passkey_revoked", body)
	if creds, err := g.Store.ListCredentials(ctx, ws.ID); err != nil || len(creds) != 0 {
		t.Fatalf("after revoke: %v %v", creds, err)
	}
	if _, err := g.Store.GetSession(ctx, "sess-ws-1"); err == nil {
		t.Error("the session signed in with the revoked passkey survived")
	}
	_, resp = g.PostForm(t, admin, userPath+"/passkeys/"+enc+"/revoke", url.Values{"csrf_token": {csrf}})
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=no_passkey") {
		t.Errorf("revoking twice: %d %s", resp.StatusCode, loc)
	}

	// Allowed networks: a bad entry is refused and changes nothing.
	body, resp = g.PostForm(t, admin, userPath+"/networks", url.Values{"csrf_token": {csrf}, "allowed_networks": {"10.0.0.0/8\nnot-a-network"}})
	wantStatus(t, "bad networks", resp, http.StatusUnprocessableEntity, body)
	if !strings.Contains(body, `id="problems"`) || !strings.Contains(body, "not-a-network") {
		t.Error("a bad network is not shown with its problem")
	}
	if nets, _ := g.Store.AllowedNetworks(ctx, ws.ID); len(nets) != 0 {
		t.Fatalf("a refused change set networks %v", nets)
	}
	body, resp = g.PostForm(t, admin, userPath+"/networks", url.Values{"csrf_token": {csrf}, "allowed_networks": {"10.0.0.0/8\n192.0.2.7"}})
	wantNotice(t, "set networks", resp, "networks_saved", body)
	if nets, _ := g.Store.AllowedNetworks(ctx, ws.ID); strings.Join(nets, ",") != "10.0.0.0/8,192.0.2.7/32" {
		t.Fatalf("networks = %v", nets)
	}
}

func TestPanelPropertiesAndRules(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: panelPW, CompanyID: "acme", Role: "admin"})
	alice := g.CreateUser(t, account.NewAccount{Email: "alice@example.com", Password: panelPW, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: panelPW, CompanyID: "acme", Role: "viewer"})

	viewer := servertest.Client(t)
	g.Login(t, viewer, "viewer@example.com", panelPW)
	for _, p := range []string{"/.gatehouse/admin/properties", "/.gatehouse/admin/rules", "/.gatehouse/admin/explain"} {
		if _, resp := g.Get(t, viewer, p, "text/html"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d, want 403", p, resp.StatusCode)
		}
	}

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", panelPW)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/admin/properties")
	post := func(path string, form url.Values) (string, *http.Response) {
		form.Set("csrf_token", csrf)
		return g.PostForm(t, admin, "/.gatehouse/admin/"+path, form)
	}

	// A bad definition shows its problems; a good one is created.
	body, resp := post("properties", url.Values{"company": {"acme"}, "key": {"Bad Key"}, "type": {"choice"}})
	wantStatus(t, "bad property", resp, http.StatusUnprocessableEntity, body)
	body, resp = post("properties", url.Values{"company": {"acme"}, "key": {"site"}, "type": {"choice"},
		"label_en": {"Site"}, "label_fr": {"Site"}, "label_ja": {"拠点"}, "choices": {"Toulouse\r\nLyon\r\n"}})
	wantNotice(t, "create property", resp, "property_created", body)
	body, _ = g.Get(t, admin, "/.gatehouse/admin/properties?company=acme", "text/html")
	if !strings.Contains(body, `data-key="site"`) || !strings.Contains(body, "拠点") {
		t.Fatalf("properties page lacks the new property:\n%s", body)
	}
	// Rename.
	body, resp = post("properties/site", url.Values{"company": {"acme"}, "label_en": {"Plant"}, "label_fr": {"Usine"}, "choices": {"Toulouse\nLyon"}})
	wantNotice(t, "rename property", resp, "property_saved", body)

	// A bad value shows the field error and changes nothing.
	userPath := "/.gatehouse/admin/users/" + alice.ID
	body, resp = post("users/"+alice.ID+"/properties", url.Values{"company": {"acme"}, "key": {"site"}, "p.site": {"Paris"}})
	wantStatus(t, "bad value", resp, http.StatusUnprocessableEntity, body)
	if !strings.Contains(body, `id="error-site"`) || !strings.Contains(body, "Paris") {
		t.Fatalf("a bad value is not shown on its field:\n%s", body)
	}
	body, resp = post("users/"+alice.ID+"/properties", url.Values{"company": {"acme"}, "key": {"site"}, "p.site": {"Toulouse"}})
	wantNotice(t, "set value", resp, "values_saved", body)
	body, _ = g.Get(t, admin, userPath, "text/html")
	if !strings.Contains(body, `<option value="Toulouse" selected>`) {
		t.Fatal("the user page does not show the value set")
	}

	// Rules: a condition that is not JSON is refused; a good rule is made.
	body, resp = post("rules", url.Values{"company": {"acme"}, "name": {"Toulouse editors"}, "capability": {"edit_objects"},
		"tag": {"site:Toulouse"}, "condition": {"site = Toulouse"}, "enabled": {"true"}})
	wantStatus(t, "bad condition", resp, http.StatusUnprocessableEntity, body)
	body, resp = post("rules", url.Values{"company": {"acme"}, "name": {"Toulouse editors"}, "capability": {"edit_objects"},
		"tag": {"site:Toulouse"}, "condition": {`{"property": "site", "op": "equals", "value": "Toulouse"}`}, "enabled": {"true"}})
	wantNotice(t, "create rule", resp, "rule_created", body)
	body, _ = g.Get(t, admin, "/.gatehouse/admin/rules?company=acme", "text/html")
	ruleID := attr(t, body, "rule link", reRuleID)
	if !strings.Contains(body, `data-rule="Toulouse editors"`) {
		t.Fatal("rules page lacks the rule")
	}

	// Deleting a property a rule uses is refused, naming the rule.
	body, resp = post("properties/site/delete", url.Values{"company": {"acme"}})
	wantStatus(t, "delete used property", resp, http.StatusConflict, body)
	if !strings.Contains(body, `id="in-use"`) || !strings.Contains(body, "Toulouse editors") {
		t.Fatalf("the refusal does not name the rule:\n%s", body)
	}

	// Explain shows the rule matched and the value it matched on.
	q := url.Values{"company": {"acme"}, "account": {"alice@example.com"}, "capability": {"edit_objects"}, "tag": {"site:Toulouse"}}
	body, resp = g.Get(t, admin, "/.gatehouse/admin/explain?"+q.Encode(), "text/html")
	wantStatus(t, "explain", resp, http.StatusOK, body)
	if !strings.Contains(body, `data-rule="Toulouse editors" class="matched"`) || !strings.Contains(body, "site = Toulouse") ||
		!regexp.MustCompile(`id="explain-granted">Yes<`).MatchString(body) {
		t.Fatalf("explain does not show the match:\n%s", body)
	}

	// Disable, then edit the rule.
	body, resp = post("rules/"+ruleID+"/enabled", url.Values{"enabled": {"false"}})
	wantNotice(t, "disable rule", resp, "rule_disabled", body)
	body, _ = g.Get(t, admin, "/.gatehouse/admin/explain?"+q.Encode(), "text/html")
	if !regexp.MustCompile(`id="explain-granted">No<`).MatchString(body) {
		t.Fatal("a disabled rule still grants")
	}
	body, resp = post("rules/"+ruleID, url.Values{"name": {"Toulouse editors"}, "capability": {"edit_objects"}, "tag": {"site:Toulouse"},
		"condition": {`{"property": "site", "op": "in", "values": ["Toulouse", "Lyon"]}`}, "position": {"1"}, "enabled": {"true"}})
	wantNotice(t, "edit rule", resp, "rule_saved", body)

	// The import preview lists a bad row and applies nothing.
	bad := "email,site\nalice@example.com,Lyon\nnobody@example.com,Toulouse\n"
	body, resp = postMultipart(t, g, admin, "/.gatehouse/admin/import", map[string]string{"csrf_token": csrf, "company": "acme"}, bad)
	wantStatus(t, "import preview", resp, http.StatusOK, body)
	if !strings.Contains(body, `id="import-invalid"`) || !regexp.MustCompile(`data-line="3" class="outcome-error"`).MatchString(body) ||
		strings.Contains(body, `id="import-apply"`) {
		t.Fatalf("the preview does not flag the bad row:\n%s", body)
	}
	body, _ = g.Get(t, admin, userPath, "text/html")
	if !strings.Contains(body, `<option value="Toulouse" selected>`) {
		t.Fatal("a preview changed a value")
	}
	good := "email,site\nalice@example.com,Lyon\n"
	body, resp = postMultipart(t, g, admin, "/.gatehouse/admin/import", map[string]string{"csrf_token": csrf, "company": "acme", "csv": good}, "")
	wantStatus(t, "good preview", resp, http.StatusOK, body)
	body, resp = post("import/apply", url.Values{"company": {"acme"}, "data": {attr(t, body, "import data", reImportData)},
		"confirm": {attr(t, body, "confirm token", reImportConfirm)}})
	wantNotice(t, "apply import", resp, "imported", body)
	body, _ = g.Get(t, admin, userPath, "text/html")
	if !strings.Contains(body, `<option value="Lyon" selected>`) {
		t.Fatal("the import did not apply")
	}

	// Once its rule is gone, the property can be deleted.
	body, resp = post("rules/"+ruleID+"/delete", url.Values{})
	wantNotice(t, "delete rule", resp, "rule_deleted", body)
	body, resp = post("properties/site/delete", url.Values{"company": {"acme"}})
	wantNotice(t, "delete property", resp, "property_deleted", body)
}

func TestBrowserPanelEnrolmentLink(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: panelPW, CompanyID: "acme", Role: "admin"})
	ws := g.CreateUser(t, account.NewAccount{Email: "ws@example.com", Password: panelPW, CompanyID: "acme", Role: "shared_computer", Kind: store.KindSharedComputer})
	ctx := browsertest.New(t)
	fail := func(name string, err error) {
		t.Helper()
		browsertest.Screenshot(t, ctx, name)
		t.Fatalf("%s: %v", name, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users/"+ws.ID),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "admin@example.com"),
		chromedp.SendKeys("#password", panelPW),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#enrolment-form"),
		chromedp.SendKeys("#enrolment-name", "Line 3 PC"),
		chromedp.Click("#enrolment-submit"),
		chromedp.WaitVisible("#enrolment-qr"),
	); err != nil {
		fail("enrolment-create", err)
	}
	link, err := chromedp.Run(ctx, chromedp.Text("#enrolment-link"))
	if err != nil {
		fail("enrolment-link", err)
	}
	if !strings.HasPrefix(link, g.Config.PublicURL+"/.gatehouse/enrol?token=") {
		fail("enrolment-link", errString("link "+link))
	}
	// The QR code loaded as an image (CSP allows data: images).
	var width int
	for deadline := time.Now().Add(5 * time.Second); width == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("enrolment-qr").naturalWidth`))
		if err != nil {
			fail("enrolment-qr", err)
		}
	}
	if width < 100 {
		fail("enrolment-qr", errString("QR image did not load"))
	}
}
