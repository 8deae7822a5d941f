package adminsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

func TestOpsAreNamedOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range Ops() {
		if op.Action == "" || seen[op.Action] {
			t.Errorf("operation %q: empty or named twice", op.Action)
		}
		seen[op.Action] = true
		if len(op.Needs) == 0 {
			t.Errorf("%s needs no capability: every admin operation needs admin_panel at least", op.Action)
		}
	}
}

// TestRefusalsAreRecorded: a refusal is "denied", whatever shape it takes
// (forbidden, a target hidden as not found, a missing CSRF token); any
// other failure of a change is "error"; reads and successes record nothing
// here.
func TestRefusalsAreRecorded(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Service{Store: st, Policy: authz.Policy{Roles: account.Standard()}, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	c := authz.Caller{Account: store.Account{ID: "acc_1", Status: store.StatusActive}, Via: authz.ViaSession}
	for _, tt := range []struct {
		op   Op
		err  error
		want string
	}{
		{OpAccountDelete, fmt.Errorf("%w: needs manage_users", authz.ErrForbidden), "denied"},
		{OpRuleDelete, hidden{authz.ErrForbidden}, "denied"},
		{OpAccountBlock, apperr.ErrCSRF, "denied"},
		{OpAccountUpdate, account.ErrSelfAction, "denied"},
		{OpAccountCreate, errors.New("disk full"), "error"},
		{OpAccountGet, authz.ErrForbidden, ""},
		{OpAccountDelete, nil, ""},
	} {
		before, _ := st.ListAudit(ctx, store.AuditQuery{Action: tt.op.Action})
		err := tt.err
		s.finish(ctx, c, tt.op, "acc_2", &err)
		after, _ := st.ListAudit(ctx, store.AuditQuery{Action: tt.op.Action})
		switch {
		case tt.want == "" && len(after) != len(before):
			t.Errorf("%s %v: recorded %+v", tt.op.Action, tt.err, after[0])
		case tt.want != "" && (len(after) != len(before)+1 || after[0].Outcome != tt.want || after[0].Actor != "acc_1"):
			t.Errorf("%s %v: recorded %+v, want one %q event", tt.op.Action, tt.err, after, tt.want)
		}
	}
	if !errors.Is(hidden{authz.ErrForbidden}, store.ErrNotFound) || errors.Is(hidden{authz.ErrForbidden}, authz.ErrForbidden) {
		t.Error("a hidden refusal must read as not found, and only that, to the transports")
	}
}
