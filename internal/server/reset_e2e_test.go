package server_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestForgotPasswordThroughTheGateway checks the wiring: the forgot form of
// the running gateway queues a mail that lands in the outbox with a link
// built from public_url, and the link resets the password.
func TestForgotPasswordThroughTheGateway(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "f@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	token := g.CSRFToken(t, c, "/.gatehouse/password/forgot")
	_, resp := g.PostForm(t, c, "/.gatehouse/password/forgot", url.Values{"email": {"f@example.com"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forgot: %d", resp.StatusCode)
	}
	var eml string
	waitFor(t, 10*time.Second, "reset mail in the outbox", func() bool {
		entries, _ := os.ReadDir(g.Config.Mail.OutboxDir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".eml") {
				b, _ := os.ReadFile(g.Config.Mail.OutboxDir + "/" + e.Name())
				eml = string(b)
				return true
			}
		}
		return false
	})
	// Quoted-printable may fold the link; unfold soft line breaks first.
	flat := strings.ReplaceAll(strings.ReplaceAll(eml, "=\r\n", ""), "=3D", "=")
	link := regexp.MustCompile(regexp.QuoteMeta(g.URL) + `/\.gatehouse/password/reset\?token=[A-Za-z0-9_-]+`).FindString(flat)
	if link == "" {
		t.Fatalf("no reset link built from public_url in the mail:\n%s", eml)
	}
	path := strings.TrimPrefix(link, g.URL)
	token = g.CSRFToken(t, c, path)
	newPW := "a brand new passphrase 42"
	body, resp := g.PostForm(t, c, path, url.Values{"password": {newPW}, "password_confirm": {newPW}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d %.300s", resp.StatusCode, body)
	}
	g.Login(t, servertest.Client(t), "f@example.com", newPW)
}
