// Package sso runs the OpenID Connect sign-in flow under /.gatehouse/sso/
// and maps a provider's verified identity to a local account.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/cookies"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

const (
	// flowTTL bounds how long a sign-in at the provider may take.
	flowTTL = 10 * time.Minute
	// randomBytes of entropy in state, nonce, PKCE verifier and binding.
	randomBytes = 32
)

// StartSession starts the gateway session once the identity is mapped; the
// session package provides it.
type StartSession func(w http.ResponseWriter, r *http.Request, in SignIn) error

// SignIn is a finished SSO sign-in, as the session starts from it.
type SignIn struct {
	AccountID   string
	AMR         []string
	IDP         string // the provider id
	IDTokenHint string // the raw ID token, for RP-initiated logout
	Shared      bool   // a shared-computer account
	// ProviderSID (the ID token's sid, "" when none) and ProviderSubject
	// (the identity link's subject) let a back-channel logout find the
	// session.
	ProviderSID     string
	ProviderSubject string
}

// Deps are the handler's collaborators.
type Deps struct {
	Providers []providers.Provider
	// JIT is just-in-time account creation per provider id; absent is off.
	JIT          map[string]providers.JIT
	Store        store.Store
	StartSession StartSession
	// ValidateRedirect returns a safe local target for rd, or "/".
	ValidateRedirect func(rd string) string
	// RenderError writes a 4xx/5xx HTML page with a link to the login
	// page, its message the catalogue's text of key with each {name} of
	// the vars pairs (name, value) filled in: (*web.Renderer).FailKey.
	RenderError func(w http.ResponseWriter, r *http.Request, status int, key string, vars ...string)
	RoleExists  func(role string) bool
	// Accounts creates just-in-time accounts.
	Accounts *account.Service
	// ClientIP names the client for the audit log; nil uses RemoteAddr.
	ClientIP func(r *http.Request) string
	// Refused counts a callback refused as noise (no state, or one that is
	// unknown, used or expired: it names no sign-in, so anyone can send
	// it): counted, not written to the audit log. nil: not counted.
	Refused func(endpoint, reason string)
	// PublicURL builds the redirect_uri; request headers never do.
	PublicURL *url.URL
	Now       func() time.Time
	Rand      io.Reader
	Logger    *slog.Logger
}

// Handler serves /.gatehouse/sso/{provider}/start and …/callback.
type Handler struct {
	d          Deps
	providers  map[string]providers.Provider
	cookieName string
	secure     bool
}

// New builds the handler. Deps.Now, Rand and Logger default to the real
// clock, crypto/rand and a discarding logger.
func New(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.ClientIP == nil {
		d.ClientIP = remoteIP
	}
	if d.Refused == nil {
		d.Refused = func(string, string) {}
	}
	h := &Handler{d: d, providers: map[string]providers.Provider{}}
	for _, p := range d.Providers {
		h.providers[p.ID()] = p
	}
	h.secure = d.PublicURL != nil && d.PublicURL.Scheme == "https"
	// __Host- (over https) keeps sibling subdomains from planting a binding.
	h.cookieName = cookies.Name(cookies.SSO, h.secure)
	return h
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.gatehouse/sso/{provider}/start", h.start)
	mux.HandleFunc("GET /.gatehouse/sso/{provider}/callback", h.callback)
}

// CallbackURL is the redirect_uri to register at the provider.
func CallbackURL(publicURL *url.URL, providerID string) string {
	return publicURL.JoinPath("/.gatehouse/sso", providerID, "callback").String()
}

// flowState is kept server-side under the hash of `state` while the
// browser is at the provider.
type flowState struct {
	Provider string `json:"provider"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Redirect string `json:"rd"`
	// Binding is the hex SHA-256 of the browser's binding cookie, so a
	// state lured into another browser (login CSRF) is refused.
	Binding string `json:"binding"`
}

func (h *Handler) random() (string, error) {
	b := make([]byte, randomBytes)
	if _, err := io.ReadFull(h.d.Rand, b); err != nil {
		return "", fmt.Errorf("sso: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashState(state string) []byte {
	sum := sha256.Sum256([]byte(state))
	return sum[:]
}

func hashBinding(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// validBinding reports whether a cookie value has the shape random() makes.
func validBinding(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == randomBytes
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	p, ok := h.providers[r.PathValue("provider")]
	if !ok {
		h.d.RenderError(w, r, http.StatusNotFound, msgNotConfigured)
		return
	}
	rd := h.d.ValidateRedirect(r.URL.Query().Get("rd"))
	var secrets [3]string // state, nonce, PKCE verifier
	for i := range secrets {
		v, err := h.random()
		if err != nil {
			h.internal(w, r, err)
			return
		}
		secrets[i] = v
	}
	state, nonce, verifier := secrets[0], secrets[1], secrets[2]
	// An existing binding is reused so that sign-ins started in two tabs
	// of the same browser both complete.
	binding := ""
	if c, err := r.Cookie(h.cookieName); err == nil && validBinding(c.Value) {
		binding = c.Value
	} else if binding, err = h.random(); err != nil {
		h.internal(w, r, err)
		return
	}
	target, err := p.AuthCodeURL(state, nonce, verifier)
	if err != nil {
		h.d.Logger.Warn("sso start: provider unavailable", "provider", p.ID(), "err", err)
		h.d.RenderError(w, r, http.StatusServiceUnavailable, msgUnavailable, "provider", p.DisplayName())
		return
	}
	data, err := json.Marshal(flowState{Provider: p.ID(), Nonce: nonce, Verifier: verifier, Redirect: rd, Binding: hashBinding(binding)})
	if err != nil {
		h.internal(w, r, err)
		return
	}
	now := h.d.Now()
	err = h.d.Store.CreateToken(r.Context(), store.Token{
		Hash: hashState(state), Kind: store.TokenSSOState, Data: data, CreatedAt: now, ExpiresAt: now.Add(flowTTL),
	}, false)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.setBinding(w, binding, int(flowTTL/time.Second))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

func (h *Handler) setBinding(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure,
		// Lax: the provider sends the browser back with a top-level GET.
		SameSite: http.SameSiteLaxMode,
	})
}

// Catalogue keys of the failure pages; the detail goes to the log and
// audit. {provider} in a message is the provider's display name.
const (
	msgNotConfigured = "sso.not_configured"
	msgUnavailable   = "sso.unavailable"
	msgStale         = "sso.stale"
	msgBrowser       = "sso.other_browser"
	msgFailed        = "sso.failed"
	msgNoAcct        = "sso.no_account"
	msgDisabled      = "sso.disabled"
	msgRefused       = "sso.refused"
	msgDenied        = "sso.denied"
	msgNoSession     = "sso.session_failed"
	msgStoreDown     = "sso.store_unavailable"
	msgInternal      = "error.internal"
)

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid := r.PathValue("provider")
	p, ok := h.providers[pid]
	if !ok {
		h.d.RenderError(w, r, http.StatusNotFound, msgNotConfigured)
		return
	}
	q := r.URL.Query()
	// fail refuses the callback with the page of message (a catalogue key
	// whose {provider} is p's name) and records why.
	fail := func(status int, category, action, reason, message string, attrs ...any) {
		details := map[string]any{"provider": pid, "reason": reason}
		for i := 0; i+1 < len(attrs); i += 2 {
			details[fmt.Sprint(attrs[i])] = attrs[i+1]
		}
		outcome := "denied"
		if category == "integration" {
			outcome = "error"
		}
		h.audit(r, store.AuditEvent{Actor: "anonymous", Action: action, Target: pid, Outcome: outcome, Category: category, Details: details})
		h.d.Logger.Info("sso callback refused", "provider", pid, "reason", reason, "details", details)
		h.d.RenderError(w, r, status, message, "provider", p.DisplayName())
	}

	// The state is consumed first, whatever follows, so it is single use.
	state := q.Get("state")
	if state == "" {
		h.d.Refused("sso_callback", "no_state")
		h.d.RenderError(w, r, http.StatusBadRequest, msgStale)
		return
	}
	tok, err := h.d.Store.ConsumeToken(ctx, store.TokenSSOState, hashState(state), h.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		h.d.Refused("sso_callback", "unknown_state")
		h.d.RenderError(w, r, http.StatusBadRequest, msgStale)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	var fs flowState
	if err := json.Unmarshal(tok.Data, &fs); err != nil || fs.Provider != pid {
		fail(http.StatusBadRequest, "auth", "sso.failure", "state issued for another provider", msgStale)
		return
	}
	c, err := r.Cookie(h.cookieName)
	if err != nil || subtle.ConstantTimeCompare([]byte(hashBinding(c.Value)), []byte(fs.Binding)) != 1 {
		fail(http.StatusBadRequest, "auth", "sso.failure", "browser binding missing or different", msgBrowser)
		return
	}

	if e := q.Get("error"); e != "" {
		status := http.StatusBadRequest
		if e == "access_denied" {
			status = http.StatusForbidden
		}
		// error_description is the provider's text, not ours: logged, not shown.
		fail(status, "integration", "sso.provider_error", "provider returned an error",
			msgDenied, "error", e, "error_description", q.Get("error_description"))
		return
	}
	if why := issuerProblem(p, q); why != "" {
		fail(http.StatusBadRequest, "integration", "sso.failure", why, msgFailed, "iss", q.Get("iss"))
		return
	}
	code := q.Get("code")
	if code == "" {
		fail(http.StatusBadRequest, "integration", "sso.failure", "no code", msgFailed)
		return
	}
	id, err := p.Exchange(ctx, code, fs.Verifier, fs.Nonce)
	switch {
	case errors.Is(err, providers.ErrNotAllowed):
		fail(http.StatusForbidden, "auth", "sso.denied", err.Error(), msgRefused)
		return
	case errors.Is(err, providers.ErrUnavailable):
		h.d.Logger.Warn("sso callback: provider unavailable", "provider", pid, "err", err)
		h.d.RenderError(w, r, http.StatusServiceUnavailable, msgUnavailable, "provider", p.DisplayName())
		return
	case err != nil:
		fail(http.StatusBadRequest, "integration", "sso.failure", err.Error(), msgFailed)
		return
	}

	acct, how, err := h.MapAccount(ctx, pid, id)
	if err != nil {
		status, msg := http.StatusForbidden, msgNoAcct
		switch {
		case errors.Is(err, ErrAccountDisabled):
			msg = msgDisabled
		case errors.Is(err, ErrNoAccount):
		default:
			h.unavailable(w, r, err)
			return
		}
		fail(status, "auth", "sso.denied", err.Error(), msg, "subject", id.Subject, "email", id.Email)
		return
	}
	if how != "login" {
		h.audit(r, store.AuditEvent{Actor: acct.ID, Action: "sso." + how, Target: acct.ID, Outcome: "ok", Category: "auth",
			Details: map[string]any{"provider": pid, "subject": id.Subject}})
	}
	amr := []string{session.AMRFederated}
	if id.MultiFactor {
		amr = append(amr, session.AMRMulti)
	}
	err = h.d.StartSession(w, r, SignIn{
		AccountID: acct.ID, AMR: amr, IDP: pid, IDTokenHint: id.IDToken,
		Shared: acct.Kind == store.KindSharedComputer, ProviderSID: id.SID, ProviderSubject: id.Subject,
	})
	if err != nil {
		h.d.Logger.Error("sso: starting the session failed", "provider", pid, "account", acct.ID, "err", err)
		h.d.RenderError(w, r, http.StatusInternalServerError, msgNoSession)
		return
	}
	h.audit(r, store.AuditEvent{Actor: acct.ID, Action: "login.success", Target: acct.ID, Outcome: "ok", Category: "auth",
		Details: map[string]any{"method": "sso", "provider": pid, "subject": id.Subject}})
	// The binding cookie is left to expire: another tab's sign-in may still
	// be on its way back, and the cookie grants nothing by itself.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, fs.Redirect, http.StatusSeeOther)
}

func (h *Handler) audit(r *http.Request, e store.AuditEvent) {
	e.Time = h.d.Now()
	e.IP = h.d.ClientIP(r)
	// The audit must not take the sign-in down with it; a lost event is logged.
	if err := h.d.Store.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		h.d.Logger.Error("sso: audit append failed", "action", e.Action, "err", err)
	}
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.d.Logger.Error("sso: internal error", "path", r.URL.Path, "err", err)
	h.d.RenderError(w, r, http.StatusInternalServerError, msgInternal)
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.d.Logger.Error("sso: store error", "path", r.URL.Path, "err", err)
	h.d.RenderError(w, r, http.StatusServiceUnavailable, msgStoreDown)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// issuerProblem is the RFC 9207 check of an authorization response, for
// the sign-in and the test sign-in alike: "" when it passes, else why not.
// A response from another issuer is a mix-up attack: its code must not
// reach our token request.
func issuerProblem(p providers.Provider, q url.Values) string {
	ic, ok := p.(providers.IssuerChecker)
	if !ok {
		return ""
	}
	iss, has := q["iss"]
	switch {
	case has && (len(iss) != 1 || !providers.IssuerMatches(ic.ExpectedIssuer(), iss[0])):
		return "iss parameter names another issuer"
	case !has && ic.IssuerParameterRequired():
		return "iss parameter missing"
	}
	return ""
}
