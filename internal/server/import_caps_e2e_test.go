package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestImportCaps: a CSV import that is too big in bytes, columns or rows is
// refused with 413 or 422 and a short plain message, and a preview of a
// file full of problems reports a bounded number of them.
func TestImportCaps(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/logout")
	st, body := apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json",
		`{"key":"site","labels":{"en":"Site"},"type":"choice","choices":["Toulouse","Lyon"]}`)
	mustStatus(t, "create property", st, http.StatusCreated, body)

	preview := func(csv string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", g.URL+"/.gatehouse/api/v1/properties/import?company=acme", strings.NewReader(csv))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}

	// 600,000 columns in 4.7 MB: once answered with 57 MB of JSON.
	wide := "email" + strings.Repeat(",c", 600_000) + "\nada@example.com\n"
	if st, raw := preview(wide); st != http.StatusUnprocessableEntity || len(raw) > 1024 || !strings.Contains(raw, "columns") {
		t.Errorf("600,000 columns: %d with %d bytes (%.200s), want 422 and a short message about columns", st, len(raw), raw)
	}
	// 10,001 rows.
	long := "email,site\n" + strings.Repeat("ada@example.com,Lyon\n", 10_001)
	if st, raw := preview(long); st != http.StatusUnprocessableEntity || len(raw) > 1024 || !strings.Contains(raw, "rows") {
		t.Errorf("10,001 rows: %d with %d bytes (%.200s), want 422 and a short message about rows", st, len(raw), raw)
	}
	// Over 5 MiB.
	big := "email,site\n" + strings.Repeat("x", 5<<20)
	if st, raw := preview(big); st != http.StatusRequestEntityTooLarge || len(raw) > 1024 {
		t.Errorf("over 5 MiB: %d with %d bytes, want 413 and a short message", st, len(raw))
	}
	// 5,000 rows that are each wrong: the preview stops at 100 problems.
	var bad strings.Builder
	bad.WriteString("email,site\n")
	for range 5000 {
		bad.WriteString("nobody@example.com,Paris\n")
	}
	st, raw := preview(bad.String())
	if st != http.StatusOK || !strings.Contains(raw, "too_many_errors") || strings.Count(raw, `"Message"`) > 101 {
		t.Errorf("5,000 bad rows: %d with %d problems in %d bytes, want 200, at most 100 problems and a note that the preview stopped",
			st, strings.Count(raw, `"Message"`), len(raw))
	}
}
