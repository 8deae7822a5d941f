package adminsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
)

// Op is one admin operation. Action names it in the audit log and is what
// the JSON API and the panel route it by. Needs are the capabilities the
// caller must hold in at least one company before the operation looks at
// its target; the operation then checks the target is in the caller's
// scope (an account they manage, a company they administer).
type Op struct {
	Action string
	Needs  []string
	// Changes: the operation writes. A refused or failed change is
	// recorded in the audit log; reads are not.
	Changes bool
}

const (
	capPanel  = account.CapAdminPanel
	capUsers  = account.CapManageUsers
	capExport = account.CapExports
)

func read(action string, needs ...string) Op  { return Op{Action: action, Needs: needs} }
func write(action string, needs ...string) Op { return Op{Action: action, Needs: needs, Changes: true} }

// The admin operations. Every method of Service is one of them, and both
// transports name the operation each of their routes performs.
var (
	OpPanel = read("panel.home", capPanel)

	OpAccountList         = read("account.list", capPanel, capUsers)
	OpAccountGet          = read("account.get", capPanel, capUsers)
	OpAccountCreate       = write("account.create", capPanel, capUsers)
	OpAccountUpdate       = write("account.update", capPanel, capUsers)
	OpAccountDelete       = write("account.delete", capPanel, capUsers)
	OpAccountBlock        = write("account.block", capPanel, capUsers)
	OpAccountUnblock      = write("account.unblock", capPanel, capUsers)
	OpAccountDeactivate   = write("account.deactivate", capPanel, capUsers)
	OpAccountExport       = read("account.export", capPanel, capExport)
	OpSessionList         = read("account.sessions.list", capPanel, capUsers)
	OpSessionsEnd         = write("account.sessions.end", capPanel, capUsers)
	OpSessionEnd          = write("account.session.end", capPanel, capUsers)
	OpMembershipSet       = write("account.membership.set", capPanel, capUsers)
	OpMembershipRemove    = write("account.membership.remove", capPanel, capUsers)
	OpInvite              = write("account.invite", capPanel, capUsers)
	OpInvitationResend    = write("account.invitation.resend", capPanel, capUsers)
	OpCompanyList         = read("company.list", capPanel, capUsers)
	OpCompanyCreate       = write("company.create", capPanel, capUsers)
	OpCompanyRename       = write("company.rename", capPanel, capUsers)
	OpCompanyMembers      = read("company.members", capPanel, capUsers)
	OpSiteList            = read("site.list", capPanel, capUsers)
	OpSiteCreate          = write("site.create", capPanel, capUsers)
	OpSiteRename          = write("site.rename", capPanel, capUsers)
	OpSiteMembers         = read("site.members", capPanel, capUsers)
	OpSiteMembersSet      = write("site.members.set", capPanel, capUsers)
	OpProviderList        = read("provider.list", capPanel)
	OpAuditList           = read("audit.list", capPanel)
	OpTokenList           = read("api_token.list", capPanel, capUsers)
	OpTokenCreate         = write("api_token.create", capPanel, capUsers)
	OpTokenRevoke         = write("api_token.revoke", capPanel, capUsers)
	OpPasskeyList         = read("passkey.list", capPanel, capUsers)
	OpPasskeyRevoke       = write("passkey.revoke", capPanel, capUsers)
	OpEnrolmentCreate     = write("enrolment.create", capPanel, capUsers)
	OpMFAReset            = write("account.mfa.reset", capPanel, capUsers)
	OpNetworksGet         = read("account.allowed_networks.get", capPanel, capUsers)
	OpNetworksSet         = write("account.allowed_networks", capPanel, capUsers)
	OpPropertyList        = read("property.list", capPanel)
	OpPropertyGet         = read("property.get", capPanel)
	OpPropertyCreate      = write("property.create", capPanel)
	OpPropertyUpdate      = write("property.update", capPanel)
	OpPropertyDelete      = write("property.delete", capPanel)
	OpValuesGet           = read("property.values.get", capPanel, capUsers)
	OpValuesSet           = write("property.values.set", capPanel, capUsers)
	OpValuesImportPreview = read("property.values.import.preview", capPanel, capUsers)
	OpValuesImport        = write("property.values.import", capPanel, capUsers)
	OpRelationList        = read("relation.list", capPanel, capUsers)
	OpRuleList            = read("access_rule.list", capPanel)
	OpRuleGet             = read("access_rule.get", capPanel)
	OpRuleCreate          = write("access_rule.create", capPanel)
	OpRuleUpdate          = write("access_rule.update", capPanel)
	OpRuleDelete          = write("access_rule.delete", capPanel)
	OpRuleExplain         = read("access_rule.explain", capPanel, capUsers)
)

// Ops lists every admin operation, for the tests that check each one is
// served alike by the JSON API and the panel.
func Ops() []Op {
	return append([]Op{
		OpPanel,
		OpAccountList, OpAccountGet, OpAccountCreate, OpAccountUpdate, OpAccountDelete,
		OpAccountBlock, OpAccountUnblock, OpAccountDeactivate, OpAccountExport,
		OpSessionList, OpSessionsEnd, OpSessionEnd, OpMembershipSet, OpMembershipRemove, OpInvite, OpInvitationResend,
		OpCompanyList, OpCompanyCreate, OpCompanyRename, OpCompanyMembers,
		OpSiteList, OpSiteCreate, OpSiteRename, OpSiteMembers, OpSiteMembersSet,
		OpProviderList, OpAuditList, OpTokenList, OpTokenCreate, OpTokenRevoke,
		OpPasskeyList, OpPasskeyRevoke, OpEnrolmentCreate, OpMFAReset, OpNetworksGet, OpNetworksSet,
		OpPropertyList, OpPropertyGet, OpPropertyCreate, OpPropertyUpdate, OpPropertyDelete,
		OpValuesGet, OpValuesSet, OpValuesImportPreview, OpValuesImport, OpRelationList,
		OpRuleList, OpRuleGet, OpRuleCreate, OpRuleUpdate, OpRuleDelete, OpRuleExplain,
	}, providerOps()...)
}

// Permit reports authz.ErrForbidden unless the caller holds every
// capability op needs somewhere. Each operation calls it first; the
// transports call it only to decide what to show (a link, a button).
func (s *Service) Permit(c authz.Caller, op Op) error {
	for _, capability := range op.Needs {
		if !s.Policy.Has(c, capability) {
			return fmt.Errorf("%w: needs %s", authz.ErrForbidden, capability)
		}
	}
	return nil
}

// Admit is the check a transport makes when a request for op arrives,
// before it reads the request: a change (changes: not a GET) made from a
// browser must carry a valid CSRF token (csrfOK: the transport checked it,
// or the caller is not a browser), and the caller must hold what op needs.
// It records a refused change and returns apperr.ErrCSRF or Permit's refusal.
func (s *Service) Admit(ctx context.Context, c authz.Caller, op Op, target string, changes, csrfOK bool) error {
	if changes && !csrfOK {
		s.refused(ctx, c, op, target, apperr.ErrCSRF)
		return apperr.ErrCSRF
	}
	if err := s.Permit(c, op); err != nil {
		if changes && op.Changes {
			s.refused(ctx, c, op, target, err)
		}
		return err
	}
	return nil
}

// Can is Permit as a yes or no.
func (s *Service) Can(c authz.Caller, op Op) bool { return s.Permit(c, op) == nil }

// Every operation that changes something starts the same way:
//
//	defer s.finish(ctx, c, OpX, id, &err)
//	if err = s.Permit(c, OpX); err != nil { return ... }
//
// with a named error result, so every refusal and failure is recorded
// once, whichever transport called.

// finish records a change the operation refused or failed; a successful
// change is recorded by whoever made it, in the same transaction.
func (s *Service) finish(ctx context.Context, c authz.Caller, op Op, target string, errp *error) {
	if *errp == nil || !op.Changes {
		return
	}
	s.refused(ctx, c, op, target, *errp)
}

// refused records that op was refused or failed for the caller, with the
// reason.
func (s *Service) refused(ctx context.Context, c authz.Caller, op Op, target string, reason error) {
	outcome := "error"
	var h hidden
	if errors.Is(reason, authz.ErrForbidden) || errors.Is(reason, account.ErrSelfAction) || errors.Is(reason, apperr.ErrCSRF) || errors.As(reason, &h) {
		outcome = "denied"
	}
	e := s.event(ctx, c, op.Action, target, outcome, map[string]any{"reason": reason.Error()})
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.Logger.Error("audit", "action", op.Action, "err", err)
	}
}
