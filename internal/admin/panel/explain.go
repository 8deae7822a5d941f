package panel

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

// explainRow is one rule of an explanation.
type explainRow struct {
	rules.RuleMatch
	On []string // "key = value" the rule matched on
}

// explainBody is the Explain form and, once asked, its answer.
type explainBody struct {
	scope
	Account, Capability, Tag string
	Capabilities             []string
	Asked                    bool
	Email                    string
	Result                   rules.Explanation
	Values                   []string // "key = v1, v2"
	Rows                     []explainRow
}

func (h *Handler) explain(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpRuleExplain)
	if err != nil {
		return err
	}
	q := x.r.URL.Query()
	b := explainBody{scope: sc, Account: strings.TrimSpace(q.Get("account")), Capability: strings.TrimSpace(q.Get("capability")),
		Tag: strings.TrimSpace(q.Get("tag")), Capabilities: h.capabilities()}
	if b.Account == "" {
		h.render(x, http.StatusOK, "explain", "admin.explain.title", b, nil)
		return nil
	}
	id, err := h.d.Service.AccountRef(x.ctx(), x.c, b.Account)
	if err != nil {
		return err
	}
	ex, err := h.d.Service.Explain(x.ctx(), x.c, id, sc.Company, b.Capability, b.Tag)
	if errors.Is(err, store.ErrNotFound) {
		h.render(x, http.StatusNotFound, "explain", "admin.explain.title", b, []string{h.d.Renderer.Catalog.T(x.lang, "admin.explain.no_account")})
		return nil
	}
	if err != nil {
		return err
	}
	b.Asked, b.Result = true, ex
	emails, err := h.d.Service.Emails(x.ctx(), x.c, []string{ex.Account})
	if err != nil {
		return err
	}
	b.Email = emails[ex.Account]
	for _, k := range slices.Sorted(maps.Keys(ex.Values)) {
		b.Values = append(b.Values, k+" = "+strings.Join(ex.Values[k], ", "))
	}
	for _, m := range ex.Rules {
		row := explainRow{RuleMatch: m}
		for _, k := range slices.Sorted(maps.Keys(m.MatchedOn)) {
			row.On = append(row.On, k+" = "+strings.Join(m.MatchedOn[k], ", "))
		}
		b.Rows = append(b.Rows, row)
	}
	h.render(x, http.StatusOK, "explain", "admin.explain.title", b, nil)
	return nil
}
