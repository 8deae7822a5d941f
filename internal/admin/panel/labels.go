package panel

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// labeler says the codes a panel page shows in words of the caller's
// language: roles, sign-in methods, audit actions, outcomes and details,
// companies by their display name. An unknown code shows as itself.
type labeler struct {
	h         *Handler
	x         *call
	companies map[string]string // id → display name, read on first use
}

func (h *Handler) labeler(x *call) *labeler { return &labeler{h: h, x: x} }

// lookup is the caller's catalogue message for key, if there is one.
func (l *labeler) lookup(key string) (string, bool) {
	return l.h.d.Renderer.Catalog.Lookup(l.x.lang, key)
}

// Label says code of kind ("role", "sign_in", "action", "outcome",
// "company", "status", "kind") in words; templates call it.
func (l *labeler) Label(kind, code string) string {
	switch kind {
	case "role":
		// The role model may carry its own labels; the catalogue has the
		// built-in models' roles.
		if label := l.h.d.Service.Accounts.Roles().Label(code, l.x.lang); label != "" {
			return label
		}
		if s, ok := l.lookup("role." + code); ok {
			return s
		}
		if label := l.h.d.Service.Accounts.Roles().Label(code, "en"); label != "" {
			return label
		}
	case "sign_in":
		if provider, ok := strings.CutPrefix(code, "sso:"); ok {
			name := provider
			if l.h.d.Service.Providers != nil {
				for _, p := range l.h.d.Service.Providers() {
					if p.ID == provider && p.DisplayName != "" {
						name = p.DisplayName
					}
				}
			}
			if s, ok := l.lookup("label.sign_in.sso"); ok {
				return strings.ReplaceAll(s, "{provider}", name)
			}
		}
		if s, ok := l.lookup("label.sign_in." + code); ok {
			return s
		}
	case "action":
		if s, ok := l.lookup("audit.action." + code); ok {
			return s
		}
	case "outcome":
		if s, ok := l.lookup("audit.outcome." + code); ok {
			return s
		}
	case "status", "kind":
		if s, ok := l.lookup("admin." + kind + "." + code); ok {
			return s
		}
	case "company":
		if l.companies == nil {
			l.companies = map[string]string{}
			if cos, err := l.h.d.Service.ListCompanies(l.x.ctx(), l.x.c); err == nil {
				for _, co := range cos {
					l.companies[co.ID] = co.Name
				}
			}
		}
		if name := l.companies[code]; name != "" {
			return name
		}
	}
	return code
}

// detail is one line of an audit event's details.
type detail struct{ Label, Value string }

// details renders an audit event's details as labelled lines, in a
// stable order; accounts named by id show by their address (emails).
func (l *labeler) details(d map[string]any, emails func(string) string) []detail {
	out := make([]detail, 0, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		label, ok := l.lookup("audit.detail." + k)
		if !ok {
			label = strings.ReplaceAll(k, "_", " ")
		}
		out = append(out, detail{Label: label, Value: l.value(k, d[k], emails)})
	}
	return out
}

// value says one detail value: a change as "before → after", a list
// joined, a map as its own labelled lines, known codes in words.
func (l *labeler) value(key string, v any, emails func(string) string) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case bool:
		if v {
			return l.h.d.Renderer.Catalog.T(l.x.lang, "admin.yes")
		}
		return l.h.d.Renderer.Catalog.T(l.x.lang, "admin.no")
	case string:
		return l.code(key, v, emails)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = l.value(key, e, emails)
		}
		return strings.Join(parts, ", ")
	case []string:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = l.code(key, e, emails)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		from, hasFrom := v["from"]
		to, hasTo := v["to"]
		if hasFrom && hasTo && len(v) == 2 {
			return l.value(key, from, emails) + " → " + l.value(key, to, emails)
		}
		var parts []string
		for _, d := range l.details(v, emails) {
			parts = append(parts, d.Label+": "+d.Value)
		}
		return strings.Join(parts, "; ")
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
		return l.value(key, m, emails)
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprint(v)
	}
	return fmt.Sprint(v)
}

// code says a string detail: roles, methods, statuses, companies, reasons
// and accounts in words; anything else as written.
func (l *labeler) code(key, v string, emails func(string) string) string {
	switch key {
	case "role", "creator_role":
		return l.Label("role", v)
	case "method", "sign_in":
		return l.Label("sign_in", v)
	case "status", "from", "to":
		if s, ok := l.lookup("admin.status." + v); ok {
			return s
		}
	case "kind":
		return l.Label("kind", v)
	case "company", "companies":
		return l.Label("company", v)
	case "reason":
		if s, ok := l.lookup("audit.reason." + v); ok {
			return s
		}
	case "account", "kept_session_account":
		return emails(v)
	}
	return v
}
