package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
)

// TestSessionCallerAndPermit covers what the HTML panel uses of the
// service besides its operations: the session-only caller and Permit.
func TestSessionCallerAndPermit(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	manager := e.user("manager@example.com", "acme", "manager")

	r := httptest.NewRequest(http.MethodGet, "/.gatehouse/admin/", nil)
	if _, err := e.svc.SessionCaller(r); !errors.Is(err, authz.ErrUnauthenticated) {
		t.Fatalf("no session: %v, want ErrUnauthenticated", err)
	}
	// An API token does not open HTML pages: only the session counts.
	r.Header.Set("Authorization", "Bearer whatever")
	if _, err := e.svc.SessionCaller(r); !errors.Is(err, authz.ErrUnauthenticated) {
		t.Fatalf("bearer only: %v, want ErrUnauthenticated", err)
	}
	r.AddCookie(&http.Cookie{Name: "sess", Value: admin.ID})
	c, err := e.svc.SessionCaller(r)
	if err != nil || c.Account.ID != admin.ID || c.Via != authz.ViaSession {
		t.Fatalf("admin session: %+v %v", c.Account.ID, err)
	}
	if err := e.svc.Permit(c, adminsvc.OpAccountExport); err != nil {
		t.Errorf("admin refused: %v", err)
	}
	mc := mustCaller(t, e, manager.ID)
	if err := e.svc.Permit(mc, adminsvc.OpAccountExport); !errors.Is(err, authz.ErrForbidden) {
		t.Errorf("manager exports: %v, want ErrForbidden", err)
	}
}
