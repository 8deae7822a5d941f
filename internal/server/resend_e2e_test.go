package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestResendInvitation: an invited account's page offers "Resend
// invitation", which mails a new link within the hourly invitation
// allowance and refuses past it, mailing nothing; an active account is
// sent none; a deactivated account's forms are read-only, saying why.
func TestResendInvitation(t *testing.T) {
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Limits.InvitationsPerAdmin = 2 }})
	ctx := context.Background()
	g.CreateUser(t, account.NewAccount{Email: "ann@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	active := g.CreateUser(t, account.NewAccount{Email: "active@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	gone := g.CreateUser(t, account.NewAccount{Email: "gone@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	if _, err := g.Server.Accounts.Deactivate(ctx, "test", gone.ID); err != nil {
		t.Fatal(err)
	}
	c := servertest.Client(t)
	g.Login(t, c, "ann@example.com", pw)
	csrf := g.CSRFToken(t, c, "/.gatehouse/admin/users/new")
	_, resp := g.PostForm(t, c, "/.gatehouse/admin/users/new", url.Values{"csrf_token": {csrf}, "email": {"ivy@example.com"},
		"first_name": {"Ivy"}, "last_name": {"Invited"}, "company": {"acme"}, "role": {"viewer"}, "sign_in": {"password"},
		"kind": {"personal"}, "language": {"en"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("creating ivy: %d", resp.StatusCode)
	}
	ivy, err := g.Store.GetAccountByEmail(ctx, "ivy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mailed := func() int {
		n, err := g.Store.CountRecentMail(ctx, mail.KindInvitation, "ivy@example.com", time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	page, _ := g.Get(t, c, "/.gatehouse/admin/users/"+ivy.ID, "text/html")
	if !strings.Contains(page, `id="resend-submit"`) || mailed() != 1 {
		t.Fatalf("an invited account's page offers no resend, or the first mail is missing (%d)", mailed())
	}
	resend := func(id string) string {
		t.Helper()
		_, resp := g.PostForm(t, c, "/.gatehouse/admin/users/"+id+"/invitation", url.Values{"csrf_token": {csrf}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("resend: %d", resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	if loc := resend(ivy.ID); !strings.Contains(loc, "notice=invitation_resent") || mailed() != 2 {
		t.Fatalf("resend: %s, %d mails", loc, mailed())
	}
	// The allowance of two mails an hour is used up: nothing more leaves.
	if loc := resend(ivy.ID); !strings.Contains(loc, "error=invitation_rate_limited") || mailed() != 2 {
		t.Fatalf("resend past the limit: %s, %d mails", loc, mailed())
	}
	if loc := resend(active.ID); !strings.Contains(loc, "error=not_invited") {
		t.Fatalf("resend to an active account: %s", loc)
	}

	page, _ = g.Get(t, c, "/.gatehouse/admin/users/"+active.ID, "text/html")
	if strings.Contains(page, `id="resend-submit"`) || strings.Contains(page, `id="read-only"`) || strings.Contains(page, `id="user-forms" disabled`) {
		t.Errorf("an active account's page is read-only or offers a resend")
	}
	page, _ = g.Get(t, c, "/.gatehouse/admin/users/"+gone.ID, "text/html")
	if !strings.Contains(page, `id="read-only"`) || !strings.Contains(page, `<fieldset class="bare" id="user-forms" disabled>`) ||
		!strings.Contains(page, `id="delete-submit"`) {
		t.Errorf("a deactivated account's page: read-only forms with a word why, and deletion, expected")
	}
}

// TestEnrolmentReloadCreatesNothing: the page showing a new workstation
// enrolment link answers a post that cannot be redirected (the link is
// shown once, never kept); reloading it posts the form again, which must
// not make a second live link.
func TestEnrolmentReloadCreatesNothing(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	g.CreateUser(t, account.NewAccount{Email: "ann@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	ws := g.CreateUser(t, account.NewAccount{Email: "line3@example.com", Password: pw, CompanyID: "acme", Role: "shared_computer", Kind: "shared_computer"})
	c := servertest.Client(t)
	g.Login(t, c, "ann@example.com", pw)
	page, _ := g.Get(t, c, "/.gatehouse/admin/users/"+ws.ID, "text/html")
	m := regexp.MustCompile(`id="enrolment-form"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"><input type="hidden" name="form_id" value="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no enrolment form with a form id: %.3000s", page)
	}
	form := url.Values{"csrf_token": {m[1]}, "form_id": {m[2]}, "name": {"Line 3 PC"}}
	body, resp := g.PostForm(t, c, "/.gatehouse/admin/users/"+ws.ID+"/enrolments", form)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `id="enrolment-link"`) {
		t.Fatalf("creating the link: %d", resp.StatusCode)
	}
	body, resp = g.PostForm(t, c, "/.gatehouse/admin/users/"+ws.ID+"/enrolments", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "notice=enrolment_already_created") ||
		strings.Contains(body, "/.gatehouse/enrol?token=") {
		t.Fatalf("the same form again: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
