package rules

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// BenchmarkEvaluate measures one evaluation (uncached: what a new session
// or a change costs) for an account matching 1, 20 and 200 rules, and
// reports the size of the signed assertion that carries the result.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1, 20, 200} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			f := newFixture(b)
			ctx := context.Background()
			for i := range n {
				f.rule(b, fmt.Sprintf("rule %d", i), "edit_objects", fmt.Sprintf("site:Site%03d", i),
					`{"all":[{"property":"site","op":"equals","value":"Toulouse"},{"role":true,"op":"in","values":["viewer","manager"]}]}`)
			}
			f.set(b, "alice", map[string][]string{"site": {"Toulouse"}, "certs": {"iso", "atex"}, "line": {"L1", "L2"}, "dept": {"Quality"}})
			cr, err := f.svc.companyRules(ctx, "acme", f.svc.version, f.now)
			if err != nil {
				b.Fatal(err)
			}
			vals, _ := f.st.ListPropertyValues(ctx, "alice", "acme")

			kr := identity.NewKeyring(f.st, time.Now, rand.Reader, nil)
			if err := kr.Load(ctx); err != nil {
				b.Fatal(err)
			}
			signer := identity.NewSigner(kr, "https://gatehouse.example.com", identity.MaxAssertionTTL, time.Now)

			b.ReportAllocs()
			b.ResetTimer()
			var res Result
			for b.Loop() {
				res = evaluate(cr, vals, store.KindPersonal, "viewer", f.svc.GrantBudget)
			}
			b.StopTimer()
			token, err := signer.Sign(identity.Claims{
				Audience: "app", Subject: "acc_abcdefghijklmnopqrstuvwxyz", Email: "alice.martin@example.com",
				GivenName: "Alice", FamilyName: "Martin", Name: "Alice Martin", Locale: "fr", Role: "viewer",
				Capabilities: []string{"view", "download", "comment", "be_assigned_tasks", "sign_documents", "receive_notifications"},
				Company:      "acme", Sites: []string{"*"}, Props: res.Props, Grants: res.Grants,
				AMR: []string{"pwd"}, IDP: "local", SessionID: "ses_abcdefghijklmnopqrstuvwxyz",
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(token) > 4096 {
				b.Errorf("assertion is %d bytes, over 4 KB", len(token))
			}
			b.ReportMetric(float64(len(token)), "assertion_bytes")
			b.ReportMetric(float64(len(res.Grants)), "grants")
		})
	}
}
