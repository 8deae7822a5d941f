// Package passkey signs people in with WebAuthn passkeys and binds shared
// workstations to the device-bound passkey enrolled through a one-time link.
package passkey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Token kinds of the ceremony state kept in store.Tokens between a begin
// and a finish call.
const (
	TokenLogin    = "webauthn_login"
	TokenRegister = "webauthn_register"
	TokenEnrol    = "webauthn_enrol"
)

// Defaults.
const (
	DefaultCeremonyTTL  = 5 * time.Minute
	DefaultEnrolmentTTL = time.Hour
	maxBodyBytes        = 64 << 10
	maxNameLen          = 100
)

// Errors that decide an answer; the handlers map them to statuses.
var (
	// ErrNoCeremony: the begin call's state is missing, used or expired.
	ErrNoCeremony = errors.New("passkey: no ceremony in progress")
	// ErrSynced: a workstation needs a device-bound credential and got a
	// backup-eligible (synced) one.
	ErrSynced = errors.New("passkey: synced credential refused for a workstation")
	// ErrCloned: the sign count went backwards, so two copies of the key
	// may exist.
	ErrCloned = errors.New("passkey: sign count went backwards")
	// ErrNetwork: the client is outside the account's allowed networks.
	ErrNetwork = errors.New("passkey: client network not allowed")
	// ErrNotAllowed: the account may not use this passkey (status, sign-in
	// method, or a shared account with a non-workstation credential).
	ErrNotAllowed = errors.New("passkey: account may not sign in with this passkey")
	// ErrEnrolment: the enrolment link is unknown, used or expired.
	ErrEnrolment = errors.New("passkey: enrolment link used or expired")
)

// ErrOff refuses every passkey ceremony and enrolment on a gateway whose
// public_url host is an IP address: WebAuthn takes its relying-party id
// from a host name only. It is an *httpapi.Error, so the JSON API writes it as
// it is and the HTML panel recognises it with errors.Is.
var ErrOff error = &httpapi.Error{Status: http.StatusConflict, Code: "passkeys_off",
	Message: "passkeys are off: public_url is an IP address, and passkeys need a host name"}

// Sessions is what the handlers need of session.Manager.
//
// EndCredential ends the sessions in the store and announces them, so
// every process sharing the store drops them from its caches.
type Sessions interface {
	Start(ctx context.Context, w http.ResponseWriter, r *http.Request, p session.StartParams) (store.Session, error)
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	// EndCredential ends the account's sessions signed in with the
	// passkey and returns their ids.
	EndCredential(ctx context.Context, accountID string, credentialID []byte) ([]string, error)
}

// Store is the part of the store the handlers use besides credentials.
type Store interface {
	store.Accounts
	store.Sessions
	store.Tokens
	store.Audit
}

// Deps are the settings and collaborators of a Handler, given to New at
// once. Zero durations take the defaults.
type Deps struct {
	PublicURL *url.URL // its host is the relying-party id, its origin the only allowed origin
	// AllowSSOAccounts lets accounts that sign in through a provider also
	// register and use passkeys.
	AllowSSOAccounts bool
	CeremonyTTL      time.Duration
	EnrolmentTTL     time.Duration

	Store       Store
	Credentials store.Credentials
	Networks    Networks
	Sessions    Sessions
	Renderer    *web.Renderer
	CSRF        *web.CSRF
	ClientIP    func(*http.Request) string
	Redirect    func(rd string) string
	Now         func() time.Time
	Rand        io.Reader
	Logger      *slog.Logger
}

// Handler serves the passkey ceremonies, workstation enrolment, and the
// credential operations the admin service and the account page call.
type Handler struct {
	d          Deps
	wa         *webauthn.WebAuthn // nil when off
	off        bool
	secure     bool
	publicBase string
}

// New builds the passkey feature, complete.
func New(d Deps) (*Handler, error) {
	if d.PublicURL == nil || d.PublicURL.Hostname() == "" {
		return nil, errors.New("passkey: public_url has no host")
	}
	if d.CeremonyTTL <= 0 {
		d.CeremonyTTL = DefaultCeremonyTTL
	}
	if d.EnrolmentTTL <= 0 {
		d.EnrolmentTTL = DefaultEnrolmentTTL
	}
	origin := d.PublicURL.Scheme + "://" + d.PublicURL.Host
	h := &Handler{d: d, secure: d.PublicURL.Scheme == "https",
		publicBase: origin + d.PublicURL.EscapedPath()}
	if net.ParseIP(d.PublicURL.Hostname()) != nil {
		// No relying party can be named by an IP address. The account
		// page, sessions and the admin views of existing credentials still
		// work; every ceremony answers ErrOff.
		h.off = true
		return h, nil
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          d.PublicURL.Hostname(),
		RPDisplayName: "Gatehouse",
		RPOrigins:     []string{origin},
		// Passkeys: discoverable, verified by the device, no attestation
		// (we trust the user's device choice, not a vendor list).
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	h.wa = wa
	return h, nil
}

// Enabled reports whether passkeys work on this gateway: false when the
// public_url host is an IP address, so pages hide their passkey buttons.
func (h *Handler) Enabled() bool { return !h.off }

// offCall answers a ceremony call with ErrOff when passkeys are off.
func (h *Handler) offCall(w http.ResponseWriter, r *http.Request) bool {
	if !h.off {
		return false
	}
	h.fail(w, r, problemOff)
	return true
}

// Mount registers every route of the feature.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /.gatehouse/passkey/login/begin", h.loginBegin)
	mux.HandleFunc("POST /.gatehouse/passkey/login/finish", h.loginFinish)
	mux.HandleFunc("POST /.gatehouse/passkey/register/begin", h.registerBegin)
	mux.HandleFunc("POST /.gatehouse/passkey/register/finish", h.registerFinish)

	mux.HandleFunc("GET /.gatehouse/enrol", h.enrolPage)
	mux.HandleFunc("POST /.gatehouse/enrol/begin", h.enrolBegin)
	mux.HandleFunc("POST /.gatehouse/enrol/finish", h.enrolFinish)
}

// PasswordBlocked reports whether a shared-computer account is bound to an
// enrolled workstation, so its password may no longer be used. When the
// store cannot answer it blocks: refusing a password is the safe side.
func (h *Handler) PasswordBlocked(ctx context.Context, a store.Account) bool {
	if a.Kind != store.KindSharedComputer {
		return false
	}
	creds, err := h.d.Credentials.ListCredentials(ctx, a.ID)
	if err != nil {
		h.d.Logger.Error("passkey: listing credentials for password check", "err", err, "account", a.ID)
		return true
	}
	for _, c := range creds {
		if c.Workstation {
			return true
		}
	}
	return false
}

func (h *Handler) audit(ctx context.Context, e store.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = h.d.Now()
	}
	if err := h.d.Store.AppendAudit(ctx, e); err != nil {
		h.d.Logger.Error("audit", "err", err, "action", e.Action)
	}
}

// amr is the RFC 8176 method of a passkey: hwk when the key cannot leave
// the device, swk when it may be synced elsewhere.
func amr(c store.Credential) string {
	if c.BackupEligible {
		return "swk"
	}
	return "hwk"
}

// Origin is the only origin ceremonies are accepted from ("" when
// passkeys are off).
func (h *Handler) Origin() string {
	if h.off {
		return ""
	}
	return h.wa.Config.RPOrigins[0]
}
