package sso

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/providers"
)

// Mapping errors, checked with errors.Is.
var (
	// ErrNoAccount: nothing links this identity to an account, and it may
	// neither be linked by email nor created just in time.
	ErrNoAccount = errors.New("sso: no account for this identity")
	// ErrAccountDisabled: the account is blocked or deactivated.
	ErrAccountDisabled = errors.New("sso: account disabled")
)

// How MapAccount found the account.
const (
	MappedLogin = "login" // an existing link
	MappedLink  = "link"  // linked now to a pre-created account by verified email
	MappedJIT   = "jit"   // created now
)

// MapAccount finds or creates the account for a verified identity and
// refreshes it from the provider, as decide says.
func (h *Handler) MapAccount(ctx context.Context, providerID string, id *providers.Identity) (store.Account, string, error) {
	d, acct, err := h.decide(ctx, providerID, id)
	if err != nil {
		return store.Account{}, "", err
	}
	switch d.Outcome {
	case MappedLogin:
		acct, err = h.refresh(ctx, acct, providerID, id)
		return acct, MappedLogin, err
	case MappedLink:
		err = h.d.Store.InTx(ctx, func(tx store.Store) error {
			return tx.LinkIdentity(ctx, store.IdentityLink{ProviderID: providerID, Subject: id.Subject, AccountID: acct.ID, CreatedAt: h.d.Now()})
		})
		if err != nil {
			return store.Account{}, "", fmt.Errorf("linking %s: %w", acct.ID, err)
		}
		acct, err = h.refresh(ctx, acct, providerID, id)
		return acct, MappedLink, err
	case MappedJIT:
		return h.createJIT(ctx, providerID, id, d)
	}
	return store.Account{}, "", d.refusal
}

// decide is the one reading of the mapping rules, shared by MapAccount
// (which then acts) and Preview (which only tells): acct is the account
// the identity maps to (login, link); a refusal carries its error.
//
// The link (provider, subject) is the only key once made: a changed email
// at the provider never moves the identity to another account. Without a
// link, a pre-created account is linked only when the provider vouches for
// the email and the account was created for this provider's sign-in; a
// password account (or one for another provider) is never taken over.
func (h *Handler) decide(ctx context.Context, providerID string, id *providers.Identity) (Decision, store.Account, error) {
	st := h.d.Store
	refuse := func(err error, reason string, args ...any) (Decision, store.Account, error) {
		return Decision{Outcome: Refused, Reason: fmt.Sprintf(reason, args...), refusal: err}, store.Account{}, nil
	}
	jit := h.d.JIT[providerID]
	role := h.providerRole(id)
	link, err := st.GetIdentity(ctx, providerID, id.Subject)
	switch {
	case err == nil:
		acct, err := st.GetAccount(ctx, link.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(fmt.Errorf("%w: link to a deleted account %s", ErrNoAccount, link.AccountID),
				"the identity is linked to account %s, which was deleted", link.AccountID)
		}
		if err != nil {
			return Decision{}, store.Account{}, err
		}
		if err := usable(acct); err != nil {
			return refuse(err, "the linked account %s is %s", acct.Email, acct.Status)
		}
		d := Decision{Outcome: MappedLogin, AccountID: acct.ID, AccountEmail: acct.Email,
			Reason: "this identity is already linked to the account"}
		if jit.Enabled && role != "" {
			d.Company, d.Role = jit.Company, role
			d.Reason += fmt.Sprintf("; role_map keeps its role in %s at %s", jit.Company, role)
		}
		return d, acct, nil
	case !errors.Is(err, store.ErrNotFound):
		return Decision{}, store.Account{}, err
	}

	signIn := "sso:" + providerID
	if id.Email != "" {
		acct, err := st.GetAccountByEmail(ctx, id.Email)
		switch {
		case err == nil:
			if !id.EmailVerified {
				return refuse(fmt.Errorf("%w: the provider does not vouch for %s, which account %s uses", ErrNoAccount, id.Email, acct.ID),
					"account %s has this email, but the provider does not say the email is verified", acct.Email)
			}
			if acct.SignIn != signIn {
				return refuse(fmt.Errorf("%w: account %s signs in with %q, not %q", ErrNoAccount, acct.ID, acct.SignIn, signIn),
					"account %s signs in with %q, not %q: it is never taken over by a provider", acct.Email, acct.SignIn, signIn)
			}
			if err := usable(acct); err != nil {
				return refuse(err, "account %s is %s", acct.Email, acct.Status)
			}
			return Decision{Outcome: MappedLink, AccountID: acct.ID, AccountEmail: acct.Email,
				Reason: "a pre-created account for this provider has the verified email: the identity would be linked to it"}, acct, nil
		case !errors.Is(err, store.ErrNotFound):
			return Decision{}, store.Account{}, err
		}
	}

	if !jit.Enabled {
		return refuse(fmt.Errorf("%w: no link and just-in-time creation is off", ErrNoAccount),
			"no account is linked to this identity or has its email, and just-in-time creation is off")
	}
	// The email travels to the apps in every assertion, so an account is
	// never created around an address the provider does not vouch for.
	if id.Email == "" || !id.EmailVerified {
		return refuse(fmt.Errorf("%w: just-in-time creation needs a verified email", ErrNoAccount),
			"just-in-time creation needs an email the provider says is verified")
	}
	why := "role_map gives " + role
	if role == "" {
		role, why = jit.Role, "the provider's roles map to none, so jit.role"
	}
	if !h.d.RoleExists(role) {
		return refuse(fmt.Errorf("%w: just-in-time role %q does not exist", ErrNoAccount, role),
			"the role %q does not exist", role)
	}
	return Decision{Outcome: MappedJIT, AccountEmail: id.Email, Company: jit.Company, Role: role,
		Reason: fmt.Sprintf("a new account would be created in %s with role %s (%s)", jit.Company, role, why)}, store.Account{}, nil
}

// createJIT creates the account decide allowed: the account service
// creates it, with its defaults and checks, and links the identity in the
// same transaction.
func (h *Handler) createJIT(ctx context.Context, providerID string, id *providers.Identity, d Decision) (store.Account, string, error) {
	first := id.GivenName
	if first == "" && id.FamilyName == "" {
		first = id.Name
	}
	acct, err := h.d.Accounts.Create(ctx, account.NewAccount{
		Email: id.Email, FirstName: first, LastName: id.FamilyName, Language: language(id.Locale),
		Kind: store.KindPersonal, SignIn: "sso:" + providerID, CompanyID: d.Company, Role: d.Role,
		Link: &store.IdentityLink{ProviderID: providerID, Subject: id.Subject},
	})
	var ve *validation.Error
	switch {
	case errors.Is(err, store.ErrConflict):
		// Another sign-in won the race, or the email appeared meanwhile.
		return store.Account{}, "", fmt.Errorf("%w: just-in-time creation conflicted: %v", ErrNoAccount, err)
	case errors.As(err, &ve):
		// What the provider says does not make a valid account here.
		return store.Account{}, "", fmt.Errorf("%w: just-in-time creation refused: %v", ErrNoAccount, err)
	case err != nil:
		return store.Account{}, "", fmt.Errorf("creating account just in time: %w", err)
	}
	return acct, MappedJIT, nil
}

// providerRole is the first of the provider's mapped roles that exists here.
func (h *Handler) providerRole(id *providers.Identity) string {
	for _, r := range id.Roles {
		if h.d.RoleExists(r) {
			return r
		}
	}
	return ""
}

func usable(a store.Account) error {
	switch a.Status {
	case store.StatusBlocked, store.StatusDeactivated:
		return fmt.Errorf("%w: account %s is %s", ErrAccountDisabled, a.ID, a.Status)
	}
	return nil
}

// refresh refuses disabled accounts, activates invited ones and takes names
// and (verified, unclaimed) email from the provider; with just-in-time
// creation and a role_map, the provider's role in the JIT company is kept
// in sync.
func (h *Handler) refresh(ctx context.Context, acct store.Account, providerID string, id *providers.Identity) (store.Account, error) {
	if err := usable(acct); err != nil {
		return store.Account{}, err
	}
	newEmail := ""
	if id.EmailVerified && id.Email != "" && !strings.EqualFold(id.Email, acct.Email) {
		other, err := h.d.Store.GetAccountByEmail(ctx, id.Email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			newEmail = id.Email
		case err == nil:
			h.d.Logger.Warn("sso: provider email belongs to another account; kept the old one",
				"account", acct.ID, "other", other.ID, "provider", providerID)
		default:
			return store.Account{}, err
		}
	}
	update := func(withEmail bool) (store.Account, error) {
		return h.d.Store.UpdateAccount(ctx, acct.ID, func(a *store.Account) error {
			if err := usable(*a); err != nil {
				return err
			}
			if id.GivenName != "" {
				a.FirstName = id.GivenName
			}
			if id.FamilyName != "" {
				a.LastName = id.FamilyName
			}
			if withEmail && newEmail != "" {
				a.Email = newEmail
			}
			if a.Status == store.StatusInvited {
				a.Status = store.StatusActive
			}
			a.UpdatedAt = h.d.Now()
			return nil
		})
	}
	updated, err := update(true)
	if errors.Is(err, store.ErrConflict) && newEmail != "" {
		updated, err = update(false) // the email was claimed meanwhile
	}
	if err != nil {
		return store.Account{}, err
	}
	if jit := h.d.JIT[providerID]; jit.Enabled && jit.Company != "" {
		if role := h.providerRole(id); role != "" {
			if err := h.syncRole(ctx, acct.ID, jit.Company, role); err != nil {
				return store.Account{}, err
			}
		}
	}
	return updated, nil
}

func (h *Handler) syncRole(ctx context.Context, accountID, company, role string) error {
	ms, err := h.d.Store.ListMemberships(ctx, accountID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.CompanyID == company && m.Role == role {
			return nil
		}
	}
	return h.d.Store.SetMembership(ctx, store.Membership{AccountID: accountID, CompanyID: company, Role: role, CreatedAt: h.d.Now()})
}

func language(locale string) string {
	base, _, _ := strings.Cut(strings.ToLower(locale), "-")
	base, _, _ = strings.Cut(base, "_")
	switch base {
	case "fr", "ja":
		return base
	}
	return "en"
}
