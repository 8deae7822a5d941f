package panel

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Choices offered by the account forms.
var (
	statuses = []string{store.StatusInvited, store.StatusActive, store.StatusBlocked, store.StatusDeactivated}
	kinds    = []string{store.KindPersonal, store.KindSharedComputer}
)

// userRow is one line of the users table.
type userRow struct {
	ID, Name, Email, Status, Kind, SignIn, Created string
	Roles                                          []string // "company: role"
}

// usersBody is the users list with its filters.
type usersBody struct {
	Search, Status, Role, Company, Site, After string
	Rows                                       []userRow
	// Next is the link to the next page, "" on the last. It is the whole
	// path and query: a query string put after a literal "?" in the
	// template would be escaped as one value ("after%3d…").
	Next            string
	Statuses, Roles []string
	Companies       []adminsvc.CompanyJSON
	Sites           []adminsvc.SiteJSON
}

func (h *Handler) listUsers(x *call) error {
	q := x.r.URL.Query()
	b := usersBody{
		Search: strings.TrimSpace(q.Get("search")), Status: q.Get("status"), Role: q.Get("role"),
		Company: q.Get("company"), Site: q.Get("site"), After: q.Get("after"),
		Statuses: statuses, Roles: h.d.Service.Accounts.Roles().RoleNames(),
	}
	var err error
	if b.Companies, err = h.d.Service.ListCompanies(x.ctx(), x.c); err != nil {
		return err
	}
	if b.Sites, err = h.d.Service.ListSites(x.ctx(), x.c, ""); err != nil {
		return err
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, err := h.d.Service.ListAccounts(x.ctx(), x.c, adminsvc.AccountFilter{
		Search: b.Search, Status: b.Status, Role: b.Role, Company: b.Company, Site: b.Site, After: b.After, Limit: limit,
	})
	if err != nil {
		return err
	}
	for _, a := range page.Accounts {
		row := userRow{ID: a.ID, Name: strings.TrimSpace(a.FirstName + " " + a.LastName), Email: a.Email,
			Status: a.Status, Kind: a.Kind, SignIn: a.SignIn, Created: x.date(a.CreatedAt)}
		for _, m := range a.Memberships {
			row.Roles = append(row.Roles, m.Company+": "+m.Role)
		}
		b.Rows = append(b.Rows, row)
	}
	if page.Next != "" {
		next := q
		next.Set("after", page.Next)
		b.Next = Prefix + "users?" + next.Encode()
	}
	h.render(x, http.StatusOK, "users", "admin.users.title", b, nil)
	return nil
}

// userForm is the create or edit form as submitted, to show it again.
type userForm struct {
	Email, FirstName, LastName, Language, DateFormat, Kind, SignIn, Company, Role string
}

// formBody is the create-user page.
type formBody struct {
	Form        userForm
	Languages   []string
	DateFormats []string
	Kinds       []string
	SignIns     []string
	Roles       []roleChoice
	Companies   []adminsvc.CompanyJSON
}

// roleChoice is a role offered by the create-user form, for the one kind
// of account that may hold it; Default marks the kind's least privileged
// role, chosen when the kind changes.
type roleChoice struct {
	Name, Kind string
	Default    bool
}

// roleChoices lists every role of the model with the kind it is for.
func (h *Handler) roleChoices() []roleChoice {
	model := h.d.Service.Accounts.Roles()
	var out []roleChoice
	for _, kind := range kinds {
		def := model.DefaultRole(kind)
		for _, r := range model.RolesForKind(kind) {
			out = append(out, roleChoice{Name: r, Kind: kind, Default: r == def})
		}
	}
	return out
}

func (h *Handler) signIns() []string {
	out := []string{account.SignInPassword}
	if h.d.Service.Providers != nil {
		for _, p := range h.d.Service.Providers() {
			out = append(out, "sso:"+p.ID)
		}
	}
	return out
}

func (h *Handler) formBody(x *call, f userForm) (formBody, error) {
	cos, err := h.d.Service.ListCompanies(x.ctx(), x.c)
	if err != nil {
		return formBody{}, err
	}
	return formBody{Form: f, Languages: i18n.Languages, DateFormats: dateformat.All(), Kinds: kinds,
		SignIns: h.signIns(), Roles: h.roleChoices(), Companies: cos}, nil
}

func (h *Handler) newUserPage(x *call) error {
	b, err := h.formBody(x, userForm{Language: x.lang, Kind: store.KindPersonal, SignIn: account.SignInPassword,
		Role: h.d.Service.Accounts.Roles().DefaultRole(store.KindPersonal)})
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "new_user", "admin.new_user.title", b, nil)
	return nil
}

func formValue(x *call, name string) string { return strings.TrimSpace(x.r.PostFormValue(name)) }

func (h *Handler) createUser(x *call) error {
	f := userForm{
		Email: formValue(x, "email"), FirstName: formValue(x, "first_name"), LastName: formValue(x, "last_name"),
		Language: formValue(x, "language"), DateFormat: formValue(x, "date_format"), Kind: formValue(x, "kind"),
		SignIn: formValue(x, "sign_in"), Company: formValue(x, "company"), Role: formValue(x, "role"),
	}
	created, err := h.d.Service.CreateAccount(x.ctx(), x.c, adminsvc.NewAccount{
		Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, Language: f.Language,
		DateFormat: f.DateFormat, Kind: f.Kind, SignIn: f.SignIn,
		Memberships: []account.MembershipInput{{Company: f.Company, Role: f.Role}},
	})
	if ps, ok := h.problems(x, err); ok {
		b, err := h.formBody(x, f)
		if err != nil {
			return err
		}
		h.render(x, http.StatusUnprocessableEntity, "new_user", "admin.new_user.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	notice := "created"
	switch {
	case created.InvitationSent:
		notice = "created_invited"
	case created.Account.SignIn == account.SignInPassword && created.Account.Status == store.StatusInvited:
		notice = "created_not_mailed"
	}
	redirect(x, Prefix+"users/"+created.Account.ID, notice)
	return nil
}

// userBody is one account's page.
type userBody struct {
	A           adminsvc.AccountJSON
	Created     string
	Self        bool
	Form        userForm
	Languages   []string
	DateFormats []string
	// Roles are those the account's kind may hold; DefaultRole, the
	// least privileged of them, is the one the role form offers first.
	Roles       []string
	DefaultRole string
	Companies   []adminsvc.CompanyJSON
	SiteNames   map[string]string // site id -> name
	// Lifecycle actions the account's status allows.
	CanBlock, CanUnblock, CanDeactivate bool
	// Passkeys and, for a shared-computer account, its workstation
	// enrolment and allowed networks (one per line).
	HasPasskeys bool
	// PasskeysOff: the gateway cannot enrol workstations (public_url on
	// an IP address), so the enrolment form gives way to the reason.
	PasskeysOff bool
	Passkeys    []passkeyRow
	Shared      bool
	Networks    string
	// Properties are the value forms of the account's companies the
	// caller administers.
	Properties []valuesForm
	// Sessions are the account's live sessions.
	Sessions []sessionRow
}

func (h *Handler) userBody(x *call, a adminsvc.AccountJSON, f userForm) (userBody, error) {
	cos, err := h.d.Service.ListCompanies(x.ctx(), x.c)
	if err != nil {
		return userBody{}, err
	}
	sites, err := h.d.Service.ListSites(x.ctx(), x.c, "")
	if err != nil {
		return userBody{}, err
	}
	names := map[string]string{account.AllSites: "*"}
	for _, s := range sites {
		names[s.ID] = s.Name
	}
	b := userBody{
		A: a, Created: x.date(a.CreatedAt), Self: a.ID == x.c.Account.ID, Form: f,
		Languages: i18n.Languages, DateFormats: dateformat.All(),
		Roles: h.d.Service.Accounts.Roles().RolesForKind(a.Kind), DefaultRole: h.d.Service.Accounts.Roles().DefaultRole(a.Kind),
		Companies: cos, SiteNames: names,
		CanBlock:      a.Status == store.StatusActive,
		CanUnblock:    a.Status == store.StatusBlocked,
		CanDeactivate: a.Status != store.StatusDeactivated,
	}
	if h.d.Service.Passkeys != nil {
		b.HasPasskeys, b.Shared, b.PasskeysOff = true, isShared(a), !h.d.PasskeysOn
		if b.Passkeys, err = h.passkeyRows(x, a.ID); err != nil {
			return userBody{}, err
		}
		if b.Shared {
			nets, err := h.d.Service.AllowedNetworks(x.ctx(), x.c, a.ID)
			if err != nil {
				return userBody{}, err
			}
			lines := make([]string, len(nets))
			for i, n := range nets {
				lines[i] = n.String()
			}
			b.Networks = strings.Join(lines, "\n")
		}
	}
	if h.d.Service.Rules != nil {
		if b.Properties, err = h.valuesForms(x, a); err != nil {
			return userBody{}, err
		}
	}
	if b.Sessions, err = h.sessionRows(x, a.ID); err != nil {
		return userBody{}, err
	}
	return b, nil
}

// userProblems shows the user page again with the problems of a refused
// form; edit adjusts the body (to keep what was typed).
func (h *Handler) userProblems(x *call, id string, ps []string, edit func(*userBody)) error {
	a, err := h.d.Service.GetAccount(x.ctx(), x.c, id)
	if err != nil {
		return err
	}
	b, err := h.userBody(x, a, formOf(a))
	if err != nil {
		return err
	}
	if edit != nil {
		edit(&b)
	}
	h.render(x, http.StatusUnprocessableEntity, "user", "admin.user.title", b, ps)
	return nil
}

func formOf(a adminsvc.AccountJSON) userForm {
	return userForm{Email: a.Email, FirstName: a.FirstName, LastName: a.LastName, Language: a.Language, DateFormat: a.DateFormat}
}

func (h *Handler) userPage(x *call) error {
	a, err := h.d.Service.GetAccount(x.ctx(), x.c, x.r.PathValue("id"))
	if err != nil {
		return err
	}
	b, err := h.userBody(x, a, formOf(a))
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "user", "admin.user.title", b, nil)
	return nil
}

func (h *Handler) updateUser(x *call) error {
	id := x.r.PathValue("id")
	f := userForm{
		Email: formValue(x, "email"), FirstName: formValue(x, "first_name"), LastName: formValue(x, "last_name"),
		Language: formValue(x, "language"), DateFormat: formValue(x, "date_format"),
	}
	_, err := h.d.Service.UpdateAccount(x.ctx(), x.c, id, adminsvc.AccountUpdate{Profile: account.ProfileUpdate{
		Email: &f.Email, FirstName: &f.FirstName, LastName: &f.LastName, Language: &f.Language, DateFormat: &f.DateFormat,
	}})
	if ps, ok := h.problems(x, err); ok {
		return h.userProblems(x, id, ps, func(b *userBody) { b.Form = f })
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "saved")
	return nil
}

func (h *Handler) userStatus(x *call) error {
	id := x.r.PathValue("id")
	action := x.r.PostFormValue("action")
	if !slices.Contains([]string{adminsvc.ActionBlock, adminsvc.ActionUnblock, adminsvc.ActionDeactivate}, action) {
		redirectError(x, Prefix+"users/"+id, "bad_action")
		return nil
	}
	_, err := h.d.Service.Lifecycle(x.ctx(), x.c, id, action)
	if code, ok := refusal(err); ok {
		redirectError(x, Prefix+"users/"+id, code)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, map[string]string{
		adminsvc.ActionBlock: "blocked", adminsvc.ActionUnblock: "unblocked", adminsvc.ActionDeactivate: "deactivated",
	}[action])
	return nil
}

func (h *Handler) deleteUser(x *call) error {
	id := x.r.PathValue("id")
	err := h.d.Service.DeleteAccount(x.ctx(), x.c, id)
	if code, ok := refusal(err); ok {
		redirectError(x, Prefix+"users/"+id, code)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users", "deleted")
	return nil
}

func (h *Handler) endSessions(x *call) error {
	id := x.r.PathValue("id")
	n, err := h.d.Service.EndAccountSessions(x.ctx(), x.c, id)
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "sessions_ended", "n", strconv.Itoa(n))
	return nil
}

func (h *Handler) setMembership(x *call) error {
	id := x.r.PathValue("id")
	_, err := h.d.Service.SetMembership(x.ctx(), x.c, id, account.MembershipInput{
		Company: formValue(x, "company"), Role: formValue(x, "role"), Sites: x.r.PostForm["site"],
	})
	if err := h.membershipOutcome(x, id, err); err != nil {
		return err
	}
	return nil
}

func (h *Handler) removeMembership(x *call) error {
	id := x.r.PathValue("id")
	_, err := h.d.Service.RemoveMembership(x.ctx(), x.c, id, x.r.PathValue("company"))
	return h.membershipOutcome(x, id, err)
}

// membershipOutcome answers a membership change: back to the account with
// a notice, or with the reason it was refused.
func (h *Handler) membershipOutcome(x *call, id string, err error) error {
	if ps, ok := h.problems(x, err); ok {
		return h.userProblems(x, id, ps, nil)
	}
	if code, ok := refusal(err); ok {
		redirectError(x, Prefix+"users/"+id, code)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "memberships_saved")
	return nil
}

// inviteBody is the invitation page.
type inviteBody struct {
	Emails, Company, Role, Language string
	Max                             int
	Languages, Roles                []string
	Companies                       []adminsvc.CompanyJSON
}

func (h *Handler) inviteBody(x *call, b inviteBody) (inviteBody, error) {
	cos, err := h.d.Service.ListCompanies(x.ctx(), x.c)
	if err != nil {
		return inviteBody{}, err
	}
	// Invitations make personal accounts: only their roles are offered,
	// the least privileged first chosen.
	model := h.d.Service.Accounts.Roles()
	b.Companies, b.Languages, b.Roles, b.Max = cos, i18n.Languages, model.RolesForKind(store.KindPersonal), adminsvc.MaxInvitations
	if b.Role == "" {
		b.Role = model.DefaultRole(store.KindPersonal)
	}
	return b, nil
}

func (h *Handler) invitePage(x *call) error {
	b, err := h.inviteBody(x, inviteBody{Language: x.lang})
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "invite", "admin.invite.title", b, nil)
	return nil
}

func (h *Handler) invite(x *call) error {
	in := inviteBody{Emails: x.r.PostFormValue("emails"), Company: formValue(x, "company"),
		Role: formValue(x, "role"), Language: formValue(x, "language")}
	// One address per line, or separated by ";" or ",": the parser reads all.
	res, err := h.d.Service.Invite(x.ctx(), x.c, adminsvc.Invitations{
		Emails: in.Emails, Language: in.Language,
		Memberships: []account.MembershipInput{{Company: in.Company, Role: in.Role}},
	})
	if ps, ok := h.problems(x, err); ok {
		b, err := h.inviteBody(x, in)
		if err != nil {
			return err
		}
		h.render(x, http.StatusUnprocessableEntity, "invite", "admin.invite.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	// The notice names the addresses that already had an account and those
	// whose mail failed, by account id: flash shows only those the caller sees.
	args := []string{"n", strconv.Itoa(res.Mailed)}
	for _, id := range res.ExistingIDs {
		args = append(args, "had", id)
	}
	for _, a := range res.Invited {
		if slices.Contains(res.Failed, a.Email) {
			args = append(args, "unsent", a.ID)
		}
	}
	redirect(x, Prefix+"users", "invited", args...)
	return nil
}
