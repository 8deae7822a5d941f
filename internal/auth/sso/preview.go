package sso

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// Decision is what MapAccount would do with an identity, told without
// doing it (a test sign-in from the admin panel).
type Decision struct {
	// Outcome is MappedLogin, MappedLink, MappedJIT or "refused".
	Outcome      string `json:"outcome"`
	AccountID    string `json:"account_id,omitempty"`
	AccountEmail string `json:"account_email,omitempty"`
	// Company and Role: where a just-in-time account would be created, or
	// the role role_map would keep in sync there.
	Company string `json:"company,omitempty"`
	Role    string `json:"role,omitempty"`
	Reason  string `json:"reason"`
}

// Outcome of a Decision that maps to no account.
const Refused = "refused"

// Preview decides as MapAccount does, step by step, but only reads: no
// link is made, no account created or refreshed, no session started.
func (h *Handler) Preview(ctx context.Context, providerID string, id *providers.Identity) (Decision, error) {
	st := h.d.Store
	refuse := func(format string, args ...any) (Decision, error) {
		return Decision{Outcome: Refused, Reason: fmt.Sprintf(format, args...)}, nil
	}
	jit := h.d.JIT[providerID]
	role := h.providerRole(id)
	link, err := st.GetIdentity(ctx, providerID, id.Subject)
	switch {
	case err == nil:
		acct, err := st.GetAccount(ctx, link.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			return refuse("the identity is linked to account %s, which was deleted", link.AccountID)
		}
		if err != nil {
			return Decision{}, err
		}
		if err := usable(acct); err != nil {
			return refuse("the linked account %s is %s", acct.Email, acct.Status)
		}
		d := Decision{Outcome: MappedLogin, AccountID: acct.ID, AccountEmail: acct.Email,
			Reason: "this identity is already linked to the account"}
		if jit.Enabled && role != "" {
			d.Company, d.Role = jit.Company, role
			d.Reason += fmt.Sprintf("; role_map keeps its role in %s at %s", jit.Company, role)
		}
		return d, nil
	case !errors.Is(err, store.ErrNotFound):
		return Decision{}, err
	}

	signIn := "sso:" + providerID
	if id.Email != "" {
		acct, err := st.GetAccountByEmail(ctx, id.Email)
		switch {
		case err == nil:
			if !id.EmailVerified {
				return refuse("account %s has this email, but the provider does not say the email is verified", acct.Email)
			}
			if acct.SignIn != signIn {
				return refuse("account %s signs in with %q, not %q: it is never taken over by a provider", acct.Email, acct.SignIn, signIn)
			}
			if err := usable(acct); err != nil {
				return refuse("account %s is %s", acct.Email, acct.Status)
			}
			return Decision{Outcome: MappedLink, AccountID: acct.ID, AccountEmail: acct.Email,
				Reason: "a pre-created account for this provider has the verified email: the identity would be linked to it"}, nil
		case !errors.Is(err, store.ErrNotFound):
			return Decision{}, err
		}
	}
	if !jit.Enabled {
		return refuse("no account is linked to this identity or has its email, and just-in-time creation is off")
	}
	if id.Email == "" || !id.EmailVerified {
		return refuse("just-in-time creation needs an email the provider says is verified")
	}
	why := "role_map gives " + role
	if role == "" {
		role, why = jit.Role, "the provider's roles map to none, so jit.role"
	}
	if !h.d.RoleExists(role) {
		return refuse("the role %q does not exist", role)
	}
	return Decision{Outcome: MappedJIT, AccountEmail: id.Email, Company: jit.Company, Role: role,
		Reason: fmt.Sprintf("a new account would be created in %s with role %s (%s)", jit.Company, role, why)}, nil
}
