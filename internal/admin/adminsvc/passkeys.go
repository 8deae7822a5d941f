package adminsvc

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Passkeys is what an administrator does with passkeys and workstations;
// passkey.Handler is one. It does not authorise: the operations below do.
type Passkeys interface {
	ListCredentials(ctx context.Context, accountID string) ([]passkey.CredentialView, error)
	RevokeCredential(ctx context.Context, accountID, credID string) (int, error)
	CreateEnrolment(ctx context.Context, acct store.Account, name string, nets []netip.Prefix) (passkey.Enrolment, error)
	AllowedNetworks(ctx context.Context, accountID string) ([]netip.Prefix, error)
	SetAllowedNetworks(ctx context.Context, acct store.Account, nets []netip.Prefix) error
}

// passkeyTarget starts a passkey operation on an account: one the caller
// sees to read, one they manage as a whole to change.
func (s *Service) passkeyTarget(ctx context.Context, c authz.Caller, op Op, accountID string) (store.Account, error) {
	if err := s.Permit(c, op); err != nil {
		return store.Account{}, err
	}
	if s.Passkeys == nil {
		return store.Account{}, fmt.Errorf("%w: passkeys", apperr.ErrUnavailable)
	}
	if op.Changes {
		return s.wholeAccount(ctx, c, accountID)
	}
	acc, _, err := s.target(ctx, c, accountID)
	return acc, err
}

// ListCredentials lists the passkeys of an account the caller manages.
func (s *Service) ListCredentials(ctx context.Context, c authz.Caller, accountID string) ([]passkey.CredentialView, error) {
	acct, err := s.passkeyTarget(ctx, c, OpPasskeyList, accountID)
	if err != nil {
		return nil, err
	}
	return s.Passkeys.ListCredentials(ctx, acct.ID)
}

// RevokeCredential deletes a passkey of an account the caller manages and
// ends the sessions signed in with it. It returns how many ended.
func (s *Service) RevokeCredential(ctx context.Context, c authz.Caller, accountID, credID string) (_ int, err error) {
	defer s.finish(ctx, c, OpPasskeyRevoke, accountID, &err)
	acct, err := s.passkeyTarget(ctx, c, OpPasskeyRevoke, accountID)
	if err != nil {
		return 0, err
	}
	n, err := s.Passkeys.RevokeCredential(ctx, acct.ID, credID)
	if err != nil {
		return 0, err
	}
	return n, s.audit(ctx, c, OpPasskeyRevoke.Action, acct.ID, map[string]any{"credential": credID, "sessions_ended": n})
}

// CreateEnrolment makes a single-use workstation enrolment link for a
// shared-computer account the caller manages; cidrs, when not nil,
// replaces its allowed networks in the same call.
func (s *Service) CreateEnrolment(ctx context.Context, c authz.Caller, accountID, name string, cidrs []string) (_ passkey.Enrolment, err error) {
	defer s.finish(ctx, c, OpEnrolmentCreate, accountID, &err)
	acct, err := s.passkeyTarget(ctx, c, OpEnrolmentCreate, accountID)
	if err != nil {
		return passkey.Enrolment{}, err
	}
	var nets []netip.Prefix
	if cidrs != nil {
		if nets, err = parseNetworks(cidrs); err != nil {
			return passkey.Enrolment{}, err
		}
	}
	e, err := s.Passkeys.CreateEnrolment(ctx, acct, name, nets)
	if err != nil {
		return passkey.Enrolment{}, err
	}
	details := map[string]any{"name": name, "expires_at": e.ExpiresAt.Format(time.RFC3339)}
	if nets != nil {
		details["allowed_networks"] = passkey.NetworkStrings(nets)
	}
	return e, s.audit(ctx, c, OpEnrolmentCreate.Action, acct.ID, details)
}

// AllowedNetworks reads the networks an account the caller manages may
// sign in from; none means anywhere.
func (s *Service) AllowedNetworks(ctx context.Context, c authz.Caller, accountID string) ([]netip.Prefix, error) {
	acct, err := s.passkeyTarget(ctx, c, OpNetworksGet, accountID)
	if err != nil {
		return nil, err
	}
	return s.Passkeys.AllowedNetworks(ctx, acct.ID)
}

// SetAllowedNetworks replaces the allowed networks of a shared-computer
// account the caller manages (CIDRs or single addresses; an empty list
// removes the limit). A bad entry is a validation error naming it by
// index, and changes nothing.
func (s *Service) SetAllowedNetworks(ctx context.Context, c authz.Caller, accountID string, cidrs []string) (_ []netip.Prefix, err error) {
	defer s.finish(ctx, c, OpNetworksSet, accountID, &err)
	acct, err := s.passkeyTarget(ctx, c, OpNetworksSet, accountID)
	if err != nil {
		return nil, err
	}
	nets, err := parseNetworks(cidrs)
	if err != nil {
		return nil, err
	}
	if err := s.Passkeys.SetAllowedNetworks(ctx, acct, nets); err != nil {
		return nil, err
	}
	return nets, s.audit(ctx, c, OpNetworksSet.Action, acct.ID, map[string]any{"allowed_networks": passkey.NetworkStrings(nets)})
}

// parseNetworks reads allowed networks, naming a bad entry by its index.
func parseNetworks(cidrs []string) ([]netip.Prefix, error) {
	nets, bad, err := passkey.ParseNetworks(cidrs)
	if err != nil {
		return nil, validation.One("allowed_networks["+strconv.Itoa(bad)+"]", "invalid", "not a CIDR or an IP address")
	}
	return nets, nil
}
