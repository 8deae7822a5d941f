package server_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// invitationLink reads the set-password link of the invitation mailed to
// addr from the outbox, once it is there.
func invitationLink(t *testing.T, g *servertest.Gateway, addr string) string {
	t.Helper()
	link := ""
	re := regexp.MustCompile(regexp.QuoteMeta(g.URL) + `/\.gatehouse/password/reset\?token=[A-Za-z0-9_-]+`)
	panelWait(t, 10*time.Second, "invitation to "+addr, func() bool {
		entries, _ := os.ReadDir(g.Config.Mail.OutboxDir)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(g.Config.Mail.OutboxDir, e.Name()))
			eml := string(b)
			if !strings.Contains(strings.ToLower(eml), "to: <"+addr+">") && !strings.Contains(strings.ToLower(eml), "to: "+addr) {
				continue
			}
			// Quoted-printable may fold the link; unfold soft line breaks first.
			flat := strings.ReplaceAll(strings.ReplaceAll(eml, "=\r\n", ""), "=3D", "=")
			link = re.FindString(flat)
			return link != ""
		}
		return false
	})
	return link
}

// TestBrowserInvitationWithAndWithoutNames: an administrator invites
// "Ada Lovelace <ada@example.com>; bob@example.com" from the panel. Ada's
// account carries her names and her set-password page does not ask for
// them; Bob's carries none (nothing made up from his address), his page
// asks for them, refuses to go on without a given name, and his answer is
// what the apps then receive.
func TestBrowserInvitationWithAndWithoutNames(t *testing.T) {
	g, ctx := panelBrowser(t, "standard", false)
	step := browserSteps(t, ctx, "invite-names")
	step("invite", invite(g, "Ada Lovelace <ada@example.com>; bob@example.com", waitNotice("invited"))...)
	ada, err := g.Store.GetAccountByEmail(t.Context(), "ada@example.com")
	if err != nil || ada.FirstName != "Ada" || ada.LastName != "Lovelace" {
		t.Fatalf("ada: %+v, %v", ada, err)
	}
	bob, err := g.Store.GetAccountByEmail(t.Context(), "bob@example.com")
	if err != nil || bob.FirstName != "" || bob.LastName != "" {
		t.Fatalf("bob must have no made-up names: %+v, %v", bob, err)
	}

	// Ada: names known, only the password is asked.
	newPW := "a brand new passphrase 42"
	step("ada sets her password",
		chromedp.Navigate(invitationLink(t, g, "ada@example.com")),
		chromedp.WaitVisible("#password"))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#first_name, #last_name").length`)); err != nil || n != 0 {
		t.Fatalf("ada's page asks for names she was invited with (%d fields, %v)", n, err)
	}
	step("ada submits",
		chromedp.SendKeys("#password", newPW),
		chromedp.SendKeys("#password_confirm", newPW),
		chromedp.Click("#reset-submit"),
		chromedp.WaitVisible("#login-submit"))

	// Bob: asked for his names; a missing given name is refused by the
	// server too (the browser's own check is lifted), and nothing is used.
	bobLink := invitationLink(t, g, "bob@example.com")
	step("bob without a name",
		chromedp.Navigate(bobLink),
		chromedp.WaitVisible("#first_name"),
		chromedp.RemoveAttribute("#first_name", "required"),
		chromedp.SendKeys("#password", newPW),
		chromedp.SendKeys("#password_confirm", newPW),
		chromedp.Click("#reset-submit"),
		chromedp.WaitVisible("#reset-error"))
	if b, _ := g.Store.GetAccountByEmail(t.Context(), "bob@example.com"); b.Status != "invited" || b.FirstName != "" {
		t.Fatalf("a refused form changed bob: %+v", b)
	}
	step("bob with his names",
		chromedp.Navigate(bobLink),
		chromedp.WaitVisible("#first_name"),
		chromedp.SendKeys("#first_name", "Robert"),
		chromedp.SendKeys("#last_name", "Baker"),
		chromedp.SendKeys("#password", newPW),
		chromedp.SendKeys("#password_confirm", newPW),
		chromedp.Click("#reset-submit"),
		chromedp.WaitVisible("#login-submit"))
	bob, _ = g.Store.GetAccountByEmail(t.Context(), "bob@example.com")
	if bob.FirstName != "Robert" || bob.LastName != "Baker" || bob.Status != "active" {
		t.Fatalf("bob after setting his password: %+v", bob)
	}
	// What the apps receive: his names, as he gave them.
	c := servertest.Client(t)
	g.Login(t, c, "bob@example.com", newPW)
	body, _ := g.Get(t, c, "/.gatehouse/whoami", "application/json")
	if !strings.Contains(body, `"given_name":"Robert"`) || !strings.Contains(body, `"family_name":"Baker"`) {
		t.Fatalf("whoami: %s", body)
	}
}
