package reset_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/throttle"
	"github.com/gatehouse/gatehouse/internal/store"
)

const (
	oldPW = "correct horse battery staple"
	newPW = "tulip lantern orbit seventeen"
)

func TestResetOverSMTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	acct := e.createAccount("ada@example.com", oldPW)

	before := e.client()
	if code := before.login("ada@example.com", oldPW); code != http.StatusSeeOther {
		t.Fatalf("login before reset: %d", code)
	}
	if resp, _ := before.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("session before reset: %d", resp.StatusCode)
	}

	c := e.client()
	resp, body := c.post("/.gatehouse/password/forgot", url.Values{"email": {"ADA@example.com"}}, func(r *http.Request) {
		// A forged host must not reach the link. (The client picks
		// cookies by Host, so the browser's cookies are added by hand.)
		for _, ck := range c.jar.Cookies(r.URL) {
			r.AddCookie(ck)
		}
		r.Host = "evil.example"
		r.Header.Set("X-Forwarded-Host", "evil.example")
	})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/.gatehouse/password/forgot?sent=1" {
		t.Fatalf("forgot: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	e.deliver()
	got := e.smtp.Wait(t, 1, 5*time.Second)
	if got[0].To[0] != "ada@example.com" {
		t.Fatalf("mail to %v", got[0].To)
	}
	link := linkIn(t, got[0].Data)
	if !strings.HasPrefix(link, e.URL+"/.gatehouse/password/reset?token=") || strings.Contains(string(got[0].Data), "evil.example") {
		t.Fatalf("link %q not built from public_url %s", link, e.URL)
	}
	token := strings.TrimPrefix(link, e.URL+"/.gatehouse/password/reset?token=")
	if len(token) < 43 {
		t.Fatalf("token too short for 256 bits: %q", token)
	}

	resp, body = c.get(link)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password_confirm"`) {
		t.Fatalf("reset page: %d\n%s", resp.StatusCode, body)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}
	// Mistakes re-render the form with a specific message and keep the link usable.
	resp, body = c.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW + "x"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not the same") {
		t.Fatalf("mismatch: %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.post(link, url.Values{"password": {"short"}, "password_confirm": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 12 characters") {
		t.Fatalf("too short: %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.post(link, url.Values{"password": {"password1234"}, "password_confirm": {"password1234"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "too common") {
		t.Fatalf("common: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = c.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/.gatehouse/login?notice=password_reset" {
		t.Fatalf("reset: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = c.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "Your password has been changed") {
		t.Fatalf("no success notice on the login page:\n%s", body)
	}

	// The session opened before the reset is dead.
	if resp, _ := before.get("/"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old session after reset: %d", resp.StatusCode)
	}
	if code := e.client().login("ada@example.com", oldPW); code != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d", code)
	}
	if code := e.client().login("ada@example.com", newPW); code != http.StatusSeeOther {
		t.Fatalf("new password after reset: %d", code)
	}
	// Single use.
	resp, body = c.get(link)
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, `href="/.gatehouse/password/forgot"`) {
		t.Fatalf("second use: %d\n%s", resp.StatusCode, body)
	}
	if evs := e.audit("password.reset"); len(evs) == 0 || evs[0].Target != acct.ID {
		t.Fatalf("audit: %+v", evs)
	}
	// The "your password was changed" notice.
	e.deliver()
	got = e.smtp.Wait(t, 2, 5*time.Second)
	if !strings.Contains(textPart(t, got[1].Data), "was just changed") {
		t.Fatalf("second mail:\n%s", got[1].Data)
	}
}

func TestForgotAnswersAlike(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAccount("active@example.com", oldPW)
	blocked := e.createAccount("blocked@example.com", oldPW)
	if _, err := e.svc.Block(e.ctx, "admin", blocked.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(e.ctx, accountSSO("sso@example.com")); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, email := range []string{"active@example.com", "nobody@example.com", "sso@example.com", "blocked@example.com"} {
		c := e.client()
		resp, body := c.forgot(email)
		answer := resp.Status + " " + resp.Header.Get("Location") + " " + body
		if first == "" {
			first = answer
		} else if answer != first {
			t.Fatalf("%s answered %q, the first address %q", email, answer, first)
		}
		_, page := c.get(resp.Header.Get("Location"))
		if !strings.Contains(page, "a link to choose a new password is on its way") {
			t.Fatalf("confirmation page:\n%s", page)
		}
	}
	e.deliver()
	all := e.mailQ.All()
	if len(all) != 1 || all[0].To != "active@example.com" {
		t.Fatalf("mail queued: %+v", all)
	}
}

// forgot asks for a reset link for email, as the forgot-password form does.
func (c *client) forgot(email string) (*http.Response, string) {
	return c.post("/.gatehouse/password/forgot", url.Values{"email": {email}})
}

func TestExpiredTokenFails(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAccount("ada@example.com", oldPW)
	c := e.client()
	c.forgot("ada@example.com")
	e.deliver()
	link := linkIn(t, e.smtp.Wait(t, 1, 5*time.Second)[0].Data)
	e.clock.Add(30*time.Minute + time.Second)
	resp, body := c.get(link)
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
		t.Fatalf("expired link: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = c.post(link+"x", url.Values{"password": {newPW}, "password_confirm": {newPW}})
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("post with unknown token: %d", resp.StatusCode)
	}
}

func TestNewTokenReplacesOld(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAccount("ada@example.com", oldPW)
	c := e.client()
	for range 2 {
		c.forgot("ada@example.com")
		e.deliver()
	}
	got := e.smtp.Wait(t, 2, 5*time.Second)
	if resp, _ := c.get(linkIn(t, got[0].Data)); resp.StatusCode != http.StatusGone {
		t.Fatalf("older link still works: %d", resp.StatusCode)
	}
	if resp, _ := c.get(linkIn(t, got[1].Data)); resp.StatusCode != http.StatusOK {
		t.Fatalf("newer link: %d", resp.StatusCode)
	}
}

func TestResetMailsPerAddressLimited(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAccount("ada@example.com", oldPW)
	c := e.client()
	for range 5 {
		c.forgot("ada@example.com")
		e.reset.Wait()
	}
	if n := len(e.mailQ.All()); n != 3 {
		t.Fatalf("%d reset mails in an hour, want 3", n)
	}
	e.clock.Add(time.Hour + time.Second)
	c.forgot("ada@example.com")
	e.reset.Wait()
	if n := len(e.mailQ.All()); n != 4 {
		t.Fatalf("after an hour: %d mails, want 4", n)
	}
}

func TestForgotIPLimit(t *testing.T) {
	e := newEnv(t, envOptions{lockout: throttle.Options{IPLimit: 2, IPWindow: time.Minute}})
	c := e.client()
	c.ip = "192.0.2.7"
	for i := range 2 {
		if resp, _ := c.forgot("x@example.com"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := c.forgot("x@example.com")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many requests") {
		t.Fatalf("over the limit: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The login form shares the client's limit per bucket; another client is free.
	other := e.client()
	other.ip = "192.0.2.8"
	if resp, _ := other.forgot("x@example.com"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
}

func TestLoginIPLimit(t *testing.T) {
	e := newEnv(t, envOptions{lockout: throttle.Options{IPLimit: 3, IPWindow: time.Minute}})
	c := e.client()
	c.ip = "192.0.2.9"
	for range 3 {
		c.login("x@example.com", "whatever password")
	}
	resp, _ := c.post("/.gatehouse/login", url.Values{"email": {"x@example.com"}, "password": {"p"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("login over the IP limit: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestLockoutAfterFiveFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAccount("ada@example.com", oldPW)
	c := e.client()
	for range 5 {
		resp, _ := c.post("/.gatehouse/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password!"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}
	// Locked: even the right password gets the generic failure.
	resp, body := c.post("/.gatehouse/login", url.Values{"email": {"ada@example.com"}, "password": {oldPW}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The email or password is incorrect") {
		t.Fatalf("locked account: %d", resp.StatusCode)
	}
	e.clock.Add(15*time.Minute + time.Second)
	if code := c.login("ada@example.com", oldPW); code != http.StatusSeeOther {
		t.Fatalf("after the window: %d", code)
	}
}

func TestInvitation(t *testing.T) {
	e := newEnv(t, envOptions{})
	acct, err := e.svc.Create(e.ctx, invited("new@example.com", "fr"))
	if err != nil {
		t.Fatal(err)
	}
	if acct.Status != store.StatusInvited {
		t.Fatalf("status %s", acct.Status)
	}
	if err := e.reset.SendInvitation(e.ctx, acct); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	got := e.smtp.Wait(t, 1, 5*time.Second)
	text := textPart(t, got[0].Data)
	if !strings.Contains(text, "Un compte Gatehouse a été créé pour vous") {
		t.Fatalf("invitation not in French:\n%s", text)
	}
	link := linkIn(t, got[0].Data)
	c := e.client()
	resp, body := c.get(link)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Choisir votre mot de passe") {
		t.Fatalf("invitation page: %d\n%s", resp.StatusCode, body)
	}
	if code := c.login("new@example.com", newPW); code != http.StatusUnauthorized {
		t.Fatalf("invited account signed in before setting a password: %d", code)
	}
	resp, _ = c.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set password: %d", resp.StatusCode)
	}
	a, _ := e.st.GetAccount(e.ctx, acct.ID)
	if a.Status != store.StatusActive {
		t.Fatalf("status after setting the password: %s", a.Status)
	}
	if code := e.client().login("new@example.com", newPW); code != http.StatusSeeOther {
		t.Fatalf("login after invitation: %d", code)
	}
	// No "password changed" notice for a first password.
	e.deliver()
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}
}
