package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Refusals of the admin operations. They are *httpapi.Error values, so the
// JSON API writes them as they are and the HTML panel recognises them with
// errors.Is.
var (
	ErrNoCredential      error = &httpapi.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such credential"}
	ErrNotSharedComputer error = &httpapi.Error{Status: http.StatusConflict, Code: "not_shared_computer", Message: "workstation enrolments and allowed networks are for shared-computer accounts only"}
	ErrAccountStatus     error = &httpapi.Error{Status: http.StatusConflict, Code: "account_status", Message: "the account is blocked or deactivated"}
)

// CredentialView is a passkey as admins see it; never the key itself.
type CredentialView struct {
	ID             string     `json:"id"` // base64url, as the revoke call takes it
	Name           string     `json:"name"`
	Workstation    bool       `json:"workstation"`
	BackupEligible bool       `json:"backup_eligible"` // synced rather than device-bound
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
}

func viewOf(c store.Credential) CredentialView {
	v := CredentialView{ID: EncodeID(c.ID), Name: c.Name, Workstation: c.Workstation, BackupEligible: c.BackupEligible,
		BackupState: c.BackupState, Transports: c.Transports, CreatedAt: c.CreatedAt.UTC()}
	if v.Transports == nil {
		v.Transports = []string{}
	}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt.UTC()
		v.LastUsedAt = &t
	}
	return v
}

// Enrolment is a new one-time workstation enrolment link.
type Enrolment struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// The operations below are what an administrator does with passkeys and
// workstations. They do not authorise: the admin service (adminsvc) decides
// who may, records the change and calls them.

// ListCredentials lists the passkeys of an account.
func (h *Handler) ListCredentials(ctx context.Context, accountID string) ([]CredentialView, error) {
	creds, err := h.d.Credentials.ListCredentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]CredentialView, 0, len(creds))
	for _, cr := range creds {
		out = append(out, viewOf(cr))
	}
	return out, nil
}

// RevokeCredential deletes a passkey of an account (credID as
// CredentialView.ID shows it) and ends the sessions signed in with it, and
// only those. It returns how many sessions ended.
func (h *Handler) RevokeCredential(ctx context.Context, accountID, credID string) (int, error) {
	id, ok := DecodeID(credID)
	if !ok {
		return 0, ErrNoCredential
	}
	ended, err := h.Revoke(ctx, accountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrNoCredential
	}
	return len(ended), err
}

// CreateEnrolment makes a single-use workstation enrolment link for a
// shared-computer account. name (optional) names the workstation; nets,
// when not nil, replaces the account's allowed networks in the same call.
func (h *Handler) CreateEnrolment(ctx context.Context, acct store.Account, name string, nets []netip.Prefix) (Enrolment, error) {
	if h.off {
		// A link no workstation could use would only be spent in vain.
		return Enrolment{}, ErrOff
	}
	if len(name) > maxNameLen {
		return Enrolment{}, fieldError("name", "at most %d bytes", maxNameLen)
	}
	if acct.Kind != store.KindSharedComputer {
		return Enrolment{}, ErrNotSharedComputer
	}
	if acct.Status == store.StatusBlocked || acct.Status == store.StatusDeactivated {
		return Enrolment{}, ErrAccountStatus
	}
	token, err := h.randomID()
	if err != nil {
		return Enrolment{}, err
	}
	data, _ := json.Marshal(enrolment{Name: CleanName(name, "")})
	now := h.d.Now()
	expires := now.Add(h.d.EnrolmentTTL).UTC().Truncate(time.Second)
	// replace=false: an account may have several workstations, each with
	// its own link.
	if err := h.d.Store.CreateToken(ctx, store.Token{Hash: hashID(token), Kind: store.TokenEnrolment, AccountID: acct.ID,
		Data: data, CreatedAt: now, ExpiresAt: expires}, false); err != nil {
		return Enrolment{}, err
	}
	if nets != nil {
		if err := h.d.Networks.SetAllowedNetworks(ctx, acct.ID, nets); err != nil {
			return Enrolment{}, err
		}
	}
	return Enrolment{URL: h.publicBase + "/.gatehouse/enrol?token=" + token, ExpiresAt: expires}, nil
}

// AllowedNetworks reads the networks a shared-computer account may sign
// in from; none means anywhere.
func (h *Handler) AllowedNetworks(ctx context.Context, accountID string) ([]netip.Prefix, error) {
	return h.d.Networks.AllowedNetworks(ctx, accountID)
}

// SetAllowedNetworks replaces the allowed networks of a shared-computer
// account; an empty list removes the limit.
func (h *Handler) SetAllowedNetworks(ctx context.Context, acct store.Account, nets []netip.Prefix) error {
	if acct.Kind != store.KindSharedComputer {
		return ErrNotSharedComputer
	}
	return h.d.Networks.SetAllowedNetworks(ctx, acct.ID, nets)
}

// Revoke deletes a passkey and ends the sessions signed in with it, and
// only those: the account's other sessions stay.
func (h *Handler) Revoke(ctx context.Context, accountID string, id []byte) ([]string, error) {
	if err := h.d.Credentials.DeleteCredential(ctx, accountID, id); err != nil {
		return nil, err
	}
	return h.d.Sessions.EndCredential(ctx, accountID, id)
}

func fieldError(field, format string, args ...any) error {
	return &validation.Error{Problems: []validation.Problem{validation.New(field, "invalid", format, args...)}}
}
