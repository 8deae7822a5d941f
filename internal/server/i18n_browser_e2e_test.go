package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// catalogue reads one language's catalogue as shipped.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "i18n", "catalog", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// englishSentences are the English catalogue messages a French or
// Japanese page must never show: those the language translates
// differently, long enough to be words rather than a token (an address,
// an id, a name such as "Gatehouse"), without placeholders.
func englishSentences(t *testing.T, lang string) []string {
	t.Helper()
	en, other := catalogue(t, "en"), catalogue(t, lang)
	seen := map[string]bool{}
	for k, v := range en {
		if other[k] == v || strings.ContainsAny(v, "{%") || !strings.Contains(v, " ") || len(v) < 10 {
			continue
		}
		seen[v] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// browserSteps returns a runner of named steps in ctx that screenshots
// (under prefix) and stops the test at the first that fails.
func browserSteps(t *testing.T, ctx context.Context, prefix string) func(string, ...chromedp.Action[chromedp.Void]) {
	return func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			browsertest.Screenshot(t, ctx, prefix+"-"+name)
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// invite sends the panel's invitation form with list as viewers, then
// waits with done.
func invite(g *servertest.Gateway, list string, done chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(g.URL + "/.gatehouse/admin/invite"),
		chromedp.WaitVisible("#invite-form"),
		chromedp.SendKeys("#emails", list),
		chromedp.SetValue("#role", "viewer"),
		chromedp.Click("#invite-submit"),
		done,
	}
}

// rawCodes are codes the panel must say in words.
var rawCodes = regexp.MustCompile(`\b(login\.success|login\.failure|site\.create|account\.create|shared_computer)\b|"CompanyID"|"CreatedAt"`)

// TestBrowserPanelSpeaksFrenchAndJapanese walks, in real Chromium, every
// page of the admin panel and the account page as an administrator whose
// language is French, then Japanese, after making a site, invitations
// and audit events to show; it fails when a page's visible text holds an
// English sentence of the catalogue, or a raw code the panel should say
// in words.
func TestBrowserPanelSpeaksFrenchAndJapanese(t *testing.T) {
	for _, lang := range []string{"fr", "ja"} {
		t.Run(lang, func(t *testing.T) {
			g := servertest.Start(t, servertest.Options{})
			root := g.CreateUser(t, account.NewAccount{Email: "root@example.com", FirstName: "Root", LastName: "Admin",
				Password: panelPW, CompanyID: "acme", Role: "admin", Language: lang})
			ctx := browsertest.New(t)
			step := browserSteps(t, ctx, "i18n-"+lang)
			step("login",
				chromedp.Navigate(g.URL+"/.gatehouse/admin/users"),
				chromedp.WaitVisible("#email"),
				chromedp.SendKeys("#email", "root@example.com"),
				chromedp.SendKeys("#password", panelPW),
				chromedp.Click("#login-submit"),
				chromedp.WaitVisible("#users-table"))
			step("site",
				chromedp.Navigate(g.URL+"/.gatehouse/admin/sites"),
				chromedp.WaitVisible("#site-form"),
				chromedp.SendKeys("#site-name", "Toulouse"),
				chromedp.Click("#site-submit"),
				chromedp.WaitVisible("#site-members"))
			siteURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
			if err != nil {
				t.Fatal(err)
			}
			step("invite", invite(g, "Ada Lovelace <ada@example.com>; bob@example.com; root@example.com", waitNotice("invited"))...)
			ada, err := g.Store.GetAccountByEmail(t.Context(), "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			pages := []string{
				"/.gatehouse/admin/users?notice=invited&n=2&had=" + root.ID,
				"/.gatehouse/admin/users/new", "/.gatehouse/admin/invite",
				"/.gatehouse/admin/users/" + ada.ID, "/.gatehouse/admin/users/" + root.ID,
				"/.gatehouse/admin/companies", "/.gatehouse/admin/sites", siteURL,
				"/.gatehouse/admin/properties", "/.gatehouse/admin/rules", "/.gatehouse/admin/explain",
				"/.gatehouse/admin/import", "/.gatehouse/admin/providers", "/.gatehouse/admin/tokens",
				"/.gatehouse/admin/audit", "/.gatehouse/admin/export", "/.gatehouse/account/",
			}
			sentences := englishSentences(t, lang)
			if len(sentences) < 200 {
				t.Fatalf("only %d English sentences to look for", len(sentences))
			}
			// A refused form says its problems in the page's language too.
			step("invalid invite", invite(g, "not-an-address", chromedp.WaitVisible(".alert.error, .error-summary, [role=alert]"))...)
			problem, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"fr": `"not-an-address" n’est pas une adresse e-mail valide`, "ja": `"not-an-address" は有効なメールアドレスではありません`}[lang]
			if !strings.Contains(problem, want) || strings.Contains(problem, "is not a valid email address") {
				t.Errorf("%s: the refused invitation does not say %q:\n%s", lang, want, problem)
			}
			cat := catalogue(t, lang)
			for _, p := range pages {
				step("walk "+p, chromedp.Navigate(g.URL+p), chromedp.WaitReady("body"))
				text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range sentences {
					if strings.Contains(text, s) {
						t.Errorf("%s %s shows the English %q", lang, p, s)
					}
				}
				own := cat["admin.nav.users"]
				if strings.HasPrefix(p, "/.gatehouse/account/") {
					own = cat["account.title"]
				}
				if !strings.Contains(text, own) {
					t.Errorf("%s %s is not in %s (no %q)", lang, p, lang, own)
				}
				if m := rawCodes.FindString(text); m != "" {
					t.Errorf("%s %s shows the raw code %q", lang, p, m)
				}
				if strings.Contains(p, "notice=invited") && !strings.Contains(text, "root@example.com") {
					t.Errorf("%s: the invitation notice does not name the address that had an account", lang)
				}
			}
		})
	}
}
