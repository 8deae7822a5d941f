package panel

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// tokenRow is one API token as the tokens page shows it.
type tokenRow struct {
	ID, Name, Account, Created, Expires, LastUsed, Revoked string
	Live                                                   bool
}

// tokensBody is the tokens page; Secret is set once, right after creation.
type tokensBody struct {
	Rows    []tokenRow
	Secret  string
	NewName string
	// FormID names this rendering of the creation form, so a resubmitted
	// post (a reload of the page that showed the secret) is recognised.
	FormID string
	// Expires is the expiry the form offers: DefaultTokenLifetime from
	// today; Never is whether "never expires" is ticked.
	Expires string
	Never   bool
}

// DefaultTokenLifetime is how long a token made in the panel lives unless
// its creator picks another date or ticks "never": a forgotten admin
// token should not stay live for ever.
const DefaultTokenLifetime = 90 * 24 * time.Hour

func (h *Handler) tokensBody(x *call) (tokensBody, error) {
	ts, err := h.d.Service.ListAPITokens(x.ctx(), x.c)
	if err != nil {
		return tokensBody{}, err
	}
	owners := make([]string, len(ts))
	for i, t := range ts {
		owners[i] = t.Account
	}
	emails, err := h.d.Service.Emails(x.ctx(), x.c, owners)
	if err != nil {
		return tokensBody{}, err
	}
	now := h.d.Service.Now()
	formID, err := newFormID(h.d.Service.Rand)
	if err != nil {
		return tokensBody{}, err
	}
	b := tokensBody{FormID: formID, Expires: now.Add(DefaultTokenLifetime).UTC().Format(time.DateOnly)}
	for _, t := range ts {
		row := tokenRow{ID: t.ID, Name: t.Name, Account: emails[t.Account], Created: x.date(t.CreatedAt), Live: true}
		if t.ExpiresAt != nil {
			row.Expires = x.date(*t.ExpiresAt)
			row.Live = t.ExpiresAt.After(now)
		}
		if t.LastUsedAt != nil {
			row.LastUsed = x.time(*t.LastUsedAt)
		}
		if t.RevokedAt != nil {
			row.Revoked = x.date(*t.RevokedAt)
			row.Live = false
		}
		b.Rows = append(b.Rows, row)
	}
	return b, nil
}

func (h *Handler) tokens(x *call) error {
	b, err := h.tokensBody(x)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "tokens", "admin.tokens.title", b, nil)
	return nil
}

// createToken shows the new secret in the answer to the post itself,
// marked no-store, and nowhere else: the secret is never kept, not in the
// store, not in memory, not in a cookie, so it cannot leak from there or
// be shown twice. A reload or a back-and-forward resubmits the same post;
// the form id it carries is then one this browser already used, and the
// answer is a redirect to the tokens page instead of a second token.
func (h *Handler) createToken(x *call) error {
	name := formValue(x, "name")
	formID := formValue(x, "form_id")
	if formID == "" {
		return h.tokenProblems(x, name, &validation.Error{Problems: []validation.Problem{validation.New("form_id", "required", "reload the page and try again")}})
	}
	if tokenForms.seen(x.r, formID) {
		redirect(x, Prefix+"tokens", "token_already_created")
		return nil
	}
	var expires time.Time
	if formValue(x, "never") == "" {
		v := formValue(x, "expires")
		if v == "" {
			expires = h.d.Service.Now().Add(DefaultTokenLifetime)
		} else {
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return h.tokenProblems(x, name, &validation.Error{Problems: []validation.Problem{validation.New("expires_at", "invalid", "not a date")}})
			}
			// Valid through the whole chosen day (UTC).
			expires = d.Add(24 * time.Hour)
		}
	}
	t, err := h.d.Service.CreateAPIToken(x.ctx(), x.c, name, expires)
	if err != nil {
		return h.tokenProblems(x, name, err)
	}
	tokenForms.remember(x, formID)
	b, err := h.tokensBody(x)
	if err != nil {
		return err
	}
	b.Secret = t.Secret
	x.w.Header().Set("Cache-Control", "no-store")
	h.render(x, http.StatusCreated, "tokens", "admin.tokens.title", b, nil)
	return nil
}

func (h *Handler) tokenProblems(x *call, name string, err error) error {
	ps, ok := h.problems(x, err)
	if !ok {
		return err
	}
	b, err := h.tokensBody(x)
	if err != nil {
		return err
	}
	b.NewName = name
	b.Expires, b.Never = formValue(x, "expires"), formValue(x, "never") != ""
	h.render(x, http.StatusUnprocessableEntity, "tokens", "admin.tokens.title", b, ps)
	return nil
}

func (h *Handler) revokeToken(x *call) error {
	if err := h.d.Service.RevokeAPIToken(x.ctx(), x.c, x.r.PathValue("id")); err != nil {
		return err
	}
	redirect(x, Prefix+"tokens", "token_revoked")
	return nil
}

// auditRow is one audit event as the audit page shows it.
type auditRow struct {
	ID                                                 int64
	Time, Actor, Action, Target, IP, Outcome, Category string
	Details                                            []detail
}

// auditBody is the audit page with its search.
type auditBody struct {
	Actor, Target, Action, Category string
	Categories                      []string
	Rows                            []auditRow
	// Next is the link to the next (older) page: path and query, for the
	// same reason as the users page's.
	Next string
}

func (h *Handler) audit(x *call) error {
	q := x.r.URL.Query()
	b := auditBody{
		Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")),
		Action: strings.TrimSpace(q.Get("action")), Category: q.Get("category"),
		Categories: []string{"admin", "auth"},
	}
	if h.d.Service.SeesIntegrationLogs(x.c) {
		b.Categories = append(b.Categories, adminsvc.CategoryIntegration)
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	// People search by email; the log keys actors and targets by id.
	actor, err := h.d.Service.AccountRef(x.ctx(), x.c, b.Actor)
	if err != nil {
		return err
	}
	target, err := h.d.Service.AccountRef(x.ctx(), x.c, b.Target)
	if err != nil {
		return err
	}
	page, err := h.d.Service.ListAudit(x.ctx(), x.c, adminsvc.AuditFilter{
		Actor: actor, Target: target, Action: b.Action, Category: b.Category, Before: max(before, 0),
	})
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range page.Events {
		for _, id := range []string{e.Actor, e.Target} {
			// Account ids have a prefix; "system" and other targets do not.
			if strings.Contains(id, "_") {
				ids = append(ids, id)
			}
		}
	}
	emails, err := h.d.Service.Emails(x.ctx(), x.c, ids)
	if err != nil {
		return err
	}
	name := func(id string) string {
		if e, ok := emails[id]; ok {
			return e
		}
		return id
	}
	labels := h.labeler(x)
	for _, e := range page.Events {
		b.Rows = append(b.Rows, auditRow{ID: e.ID, Time: x.time(e.Time), Actor: name(e.Actor), Action: e.Action,
			Target: name(e.Target), IP: e.IP, Outcome: e.Outcome, Category: e.Category, Details: labels.details(e.Details, name)})
	}
	if page.Next != 0 {
		next := q
		next.Set("before", strconv.FormatInt(page.Next, 10))
		b.Next = Prefix + "audit?" + next.Encode()
	}
	h.render(x, http.StatusOK, "audit", "admin.audit.title", b, nil)
	return nil
}

func (h *Handler) exportPage(x *call) error {
	h.render(x, http.StatusOK, "export", "admin.export.title", struct{ URL string }{ExportURL}, nil)
	return nil
}
