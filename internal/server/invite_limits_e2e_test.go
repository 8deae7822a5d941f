package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestInvitationMailLimits: an admin may trigger 5 invitation mails an
// hour and a company receive 8 (the test's limits); past either, the API
// answers 429 with code rate_limited and Retry-After, the panel says so,
// and nothing is created or mailed.
func TestInvitationMailLimits(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			g := servertest.Start(t, servertest.Options{Postgres: pg, Configure: func(c *config.Config) {
				c.Limits.InvitationsPerAdmin = 5
				c.Limits.InvitationsPerCompany = 8
			}})
			g.CreateUser(t, account.NewAccount{Email: "ann@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
			g.CreateUser(t, account.NewAccount{Email: "ben@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
			type admin struct {
				c    *http.Client
				csrf string
			}
			signIn := func(email string) admin {
				c := servertest.Client(t)
				g.Login(t, c, email, pw)
				return admin{c, g.CSRFToken(t, c, "/.gatehouse/logout")}
			}
			ann, ben := signIn("ann@example.com"), signIn("ben@example.com")
			n := 0
			invite := func(a admin, count int) (int, []string) {
				t.Helper()
				var emails []string
				for range count {
					n++
					emails = append(emails, fmt.Sprintf("person%d@example.com", n))
				}
				req, _ := http.NewRequest("POST", g.URL+"/.gatehouse/api/v1/invitations",
					strings.NewReader(`{"emails":"`+strings.Join(emails, ";")+`","memberships":[{"company":"acme","role":"viewer"}]}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-CSRF-Token", a.csrf)
				resp, err := a.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
				return resp.StatusCode, emails
			}
			notCreated := func(emails []string) {
				t.Helper()
				for _, e := range emails {
					if _, err := g.Store.GetAccountByEmail(t.Context(), e); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("a refused invitation created %s (%v)", e, err)
					}
				}
			}
			if st, _ := invite(ann, 3); st != http.StatusOK {
				t.Fatalf("3 invitations: %d", st)
			}
			if st, _ := invite(ann, 2); st != http.StatusOK {
				t.Fatalf("5 invitations: %d", st)
			}
			st, refused := invite(ann, 1)
			if st != http.StatusTooManyRequests {
				t.Fatalf("the admin's 6th invitation in the hour: %d, want 429", st)
			}
			notCreated(refused)
			// The other admin has an allowance of their own, but the
			// company has room for 3 more only.
			if st, refused := invite(ben, 4); st != http.StatusTooManyRequests {
				t.Fatalf("4 more into the company: %d, want 429", st)
			} else {
				notCreated(refused)
			}
			if st, _ := invite(ben, 3); st != http.StatusOK {
				t.Fatalf("the company's 8th invitation: %d", st)
			}
			// Creating a password account mails an invitation too.
			st, body := apiCall(t, g, ben.c, ben.csrf, "POST", "/.gatehouse/api/v1/accounts", "application/json",
				`{"email":"extra@example.com","first_name":"E","last_name":"X","memberships":[{"company":"acme","role":"viewer"}]}`)
			if st != http.StatusTooManyRequests {
				t.Fatalf("creating a password account past the company's limit: %d %v, want 429", st, body)
			}
			if e, _ := body["error"].(map[string]any); e["code"] != "rate_limited" || !strings.Contains(fmt.Sprint(e["message"]), "an hour") {
				t.Errorf("429 body %v, want code rate_limited and a message that names the limit", body)
			}
			notCreated([]string{"extra@example.com"})
			// The panel says so on the invitation page.
			page, resp := g.PostForm(t, ann.c, "/.gatehouse/admin/invite", url.Values{
				"csrf_token": {ann.csrf}, "emails": {"late@example.com"}, "company": {"acme"}, "role": {"viewer"}, "language": {"en"},
			})
			if resp.StatusCode == http.StatusSeeOther || !strings.Contains(page, "hourly limit of invitation mails") {
				t.Errorf("panel invitation past the limit: %d, page lacks the limit message", resp.StatusCode)
			}
			notCreated([]string{"late@example.com"})
		})
	}
}
