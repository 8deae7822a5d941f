package props

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Authorization failures, mapped to 401 and 403.
var (
	ErrUnauthenticated = errors.New("not signed in")
	ErrForbidden       = errors.New("this needs an administrator of the company")
	ErrCSRF            = errors.New("missing or wrong X-CSRF-Token header")
)

// Authorizer decides who may call the API. It is an interface so the
// shared admin API wrapper (API tokens included) can replace SessionAuth.
type Authorizer interface {
	// Authorize returns the caller when they administer company; write
	// marks a state-changing call.
	Authorize(r *http.Request, company string, write bool) (rules.Actor, error)
	// AdminCompanies lists the companies the caller administers.
	AdminCompanies(r *http.Request) ([]string, error)
}

// SessionAuth admits a browser session whose account holds a role with the
// admin_panel capability in the company concerned. State-changing calls
// need the X-CSRF-Token header. Bearer tokens are not accepted here.
type SessionAuth struct {
	Sessions interface {
		Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	}
	Identities interface {
		Identity(ctx context.Context, accountID, companyID string) (account.Identity, error)
	}
	CSRF interface {
		Check(r *http.Request) bool
	}
	ClientIP func(*http.Request) string
}

var _ Authorizer = (*SessionAuth)(nil)

func (a *SessionAuth) identity(r *http.Request, company string) (account.Identity, error) {
	sess, err := a.Sessions.Lookup(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) {
		return account.Identity{}, ErrUnauthenticated
	}
	if err != nil {
		return account.Identity{}, err
	}
	id, err := a.Identities.Identity(r.Context(), sess.AccountID, company)
	if errors.Is(err, store.ErrNotFound) {
		return account.Identity{}, ErrUnauthenticated
	}
	if err != nil {
		return account.Identity{}, err
	}
	if id.Account.Status != store.StatusActive {
		return account.Identity{}, ErrForbidden
	}
	return id, nil
}

// Authorize implements Authorizer.
func (a *SessionAuth) Authorize(r *http.Request, company string, write bool) (rules.Actor, error) {
	id, err := a.identity(r, company)
	if err != nil {
		return rules.Actor{}, err
	}
	if company == "" || !slices.Contains(id.Capabilities, account.CapAdminPanel) {
		return rules.Actor{}, ErrForbidden
	}
	if write && !a.CSRF.Check(r) {
		return rules.Actor{}, ErrCSRF
	}
	actor := rules.Actor{ID: id.Account.ID}
	if a.ClientIP != nil {
		actor.IP = a.ClientIP(r)
	}
	return actor, nil
}

// AdminCompanies implements Authorizer.
func (a *SessionAuth) AdminCompanies(r *http.Request) ([]string, error) {
	id, err := a.identity(r, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range id.Memberships {
		if slices.Contains(m.Capabilities, account.CapAdminPanel) {
			out = append(out, m.Company)
		}
	}
	return out, nil
}
