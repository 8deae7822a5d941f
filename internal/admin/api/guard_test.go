package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
)

// TestGuardForHTML covers what the HTML panel uses of the Guard: the
// session-only caller and the capability check.
func TestGuardForHTML(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	manager := e.user("manager@example.com", "acme", "manager")
	g := &Guard{Service: e.svc, Sessions: fakeSessions{}, CSRF: e.csrf,
		ClientIP: func(*http.Request) string { return "192.0.2.7" }, Logger: slog.New(slog.DiscardHandler)}

	r := httptest.NewRequest(http.MethodGet, "/.gatehouse/admin/", nil)
	if _, err := g.SessionCaller(r); !errors.Is(err, authz.ErrUnauthenticated) {
		t.Fatalf("no session: %v, want ErrUnauthenticated", err)
	}
	// An API token does not open HTML pages: only the session counts.
	r.Header.Set("Authorization", "Bearer whatever")
	if _, err := g.SessionCaller(r); !errors.Is(err, authz.ErrUnauthenticated) {
		t.Fatalf("bearer only: %v, want ErrUnauthenticated", err)
	}
	r.AddCookie(&http.Cookie{Name: "sess", Value: admin.ID})
	c, err := g.SessionCaller(r)
	if err != nil || c.Account.ID != admin.ID || c.Via != authz.ViaSession {
		t.Fatalf("admin session: %+v %v", c.Account.ID, err)
	}
	if err := g.Require(c, account.CapAdminPanel, account.CapExports); err != nil {
		t.Errorf("admin refused: %v", err)
	}
	mc := mustCaller(t, e, manager.ID)
	if err := g.Require(mc, account.CapExports); !errors.Is(err, authz.ErrForbidden) {
		t.Errorf("manager exports: %v, want ErrForbidden", err)
	}
	if err := g.Require(mc); err != nil {
		t.Errorf("no capability asked: %v", err)
	}
}
