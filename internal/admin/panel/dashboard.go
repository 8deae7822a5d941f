package panel

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
)

// dashboardBody is the dashboard as the page shows it.
type dashboardBody struct {
	ManagesUsers                    bool
	Active, Invited, Blocked        int
	Deactivated, Sessions           int
	FailureCount                    int
	MoreFailures                    bool
	Failures                        []dashboardFailure
	Providers                       []dashboardProvider
	Invitations                     []dashboardInvitation
	Tokens                          []dashboardToken
	AuditFailures, InvitedUsersLink string
}

type dashboardFailure struct{ Time, Target, IP string }

type dashboardProvider struct{ ID, Name, Status, State, Detail string }

type dashboardInvitation struct {
	ID, Email, Expires string
	Expired            bool // no link left that works
}

type dashboardToken struct {
	Name, Account, Expires string
	NeverUsed              bool
}

// dashboard is the panel's first page.
func (h *Handler) dashboard(x *call) error {
	d, err := h.d.Service.Dashboard(x.ctx(), x.c)
	if err != nil {
		return err
	}
	b := dashboardBody{
		ManagesUsers: d.ManagesUsers, Sessions: d.Sessions,
		Active: d.Accounts[store.StatusActive], Invited: d.Accounts[store.StatusInvited],
		Blocked: d.Accounts[store.StatusBlocked], Deactivated: d.Accounts[store.StatusDeactivated],
		FailureCount: d.FailureCount, MoreFailures: d.MoreFailures,
		AuditFailures:    Prefix + "audit?action=login.failure",
		InvitedUsersLink: Prefix + "users?status=" + store.StatusInvited,
	}
	for _, f := range d.Failures {
		b.Failures = append(b.Failures, dashboardFailure{Time: x.time(f.Time), Target: f.Target, IP: f.IP})
	}
	for _, p := range d.Providers {
		state := h.d.Renderer.Catalog.T(x.lang, "dashboard.provider."+p.Status)
		if state == "dashboard.provider."+p.Status {
			state = p.Status
		}
		b.Providers = append(b.Providers, dashboardProvider{ID: p.ID, Name: p.DisplayName, Status: p.Status, State: state, Detail: p.Detail})
	}
	now := h.d.Service.Now()
	for _, inv := range d.Invitations {
		row := dashboardInvitation{ID: inv.AccountID, Email: inv.Email, Expired: !inv.ExpiresAt.After(now)}
		if !row.Expired {
			row.Expires = x.time(inv.ExpiresAt)
		}
		b.Invitations = append(b.Invitations, row)
	}
	var owners []string
	for _, t := range d.Tokens {
		owners = append(owners, t.Account)
	}
	emails, err := h.d.Service.Emails(x.ctx(), x.c, owners)
	if err != nil {
		return err
	}
	for _, t := range d.Tokens {
		row := dashboardToken{Name: t.Name, Account: emails[t.Account], NeverUsed: t.LastUsedAt == nil}
		if t.ExpiresAt != nil {
			row.Expires = x.date(*t.ExpiresAt)
		}
		b.Tokens = append(b.Tokens, row)
	}
	h.render(x, http.StatusOK, "dashboard", "dashboard.title", b, nil)
	return nil
}
