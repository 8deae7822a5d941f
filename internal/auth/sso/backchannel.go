package sso

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// DefaultMaxLogoutBody bounds a back-channel logout request's body when
// BackChannelDeps.MaxBodyBytes is zero; a logout token is a few KiB.
const DefaultMaxLogoutBody = 64 << 10

// Every token that fails verification may make the gateway fetch the
// provider's JWKS again (that is how a new key is noticed), so a client
// address that sent RefusedTokenLimit invalid tokens within
// RefusedTokenWindow gets 429 until the window ends. A provider sending
// valid tokens is never limited, however many users it signs out.
const (
	RefusedTokenLimit  = 30
	RefusedTokenWindow = time.Minute
)

// endTimeout bounds recording the jti and ending the sessions.
const endTimeout = 10 * time.Second

// BackChannelDeps are the back-channel logout handler's collaborators.
type BackChannelDeps struct {
	Providers []providers.Provider
	// Used remembers each logout token's jti, on every replica.
	Used  store.LogoutTokens
	Audit store.Audit
	// Throttle counts refused tokens per client address, on every replica.
	Throttle store.Throttle
	// EndSessions ends the sessions of providerID with provider session
	// sid and/or identity subject, here and on every replica
	// (session.Manager.EndProviderSessions), and returns their ids.
	EndSessions  func(ctx context.Context, providerID, sid, subject string) ([]string, error)
	MaxBodyBytes int64
	// Refused counts a request refused as noise (an unknown provider, a
	// malformed request, the 429 answers): those are counted, not written
	// to the audit log, so a flood of them writes nothing. nil: not counted.
	Refused  func(endpoint, reason string)
	ClientIP func(r *http.Request) string // nil uses RemoteAddr
	Now      func() time.Time
	Logger   *slog.Logger
}

// BackChannel serves POST /.gatehouse/sso/{provider}/backchannel-logout
// (OpenID Connect Back-Channel Logout 1.0): the provider posts a signed
// logout token and the sessions it names end at once.
type BackChannel struct {
	d         BackChannelDeps
	providers map[string]providers.BackChannelLogoutProvider
}

// NewBackChannel builds the handler for the providers that can verify
// logout tokens. Now, Logger, ClientIP and MaxBodyBytes have defaults.
func NewBackChannel(d BackChannelDeps) *BackChannel {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.ClientIP == nil {
		d.ClientIP = remoteIP
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxLogoutBody
	}
	if d.Refused == nil {
		d.Refused = func(string, string) {}
	}
	b := &BackChannel{d: d, providers: map[string]providers.BackChannelLogoutProvider{}}
	for _, p := range d.Providers {
		if bp, ok := p.(providers.BackChannelLogoutProvider); ok {
			b.providers[p.ID()] = bp
		}
	}
	return b
}

// Mount registers the route.
func (b *BackChannel) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /.gatehouse/sso/{provider}/backchannel-logout", b.logout)
}

// BackChannelURL is the back-channel logout URI to register at the provider.
func BackChannelURL(publicURL *url.URL, providerID string) string {
	return publicURL.JoinPath("/.gatehouse/sso", providerID, "backchannel-logout").String()
}

// logoutError is the spec's error response (an OAuth 2.0 error object).
type logoutError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// maxAuditedID bounds request-supplied strings in the audit log.
const maxAuditedID = 128

func clip(s string) string {
	if len(s) > maxAuditedID {
		return s[:maxAuditedID]
	}
	return s
}

func (b *BackChannel) logout(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("provider")
	details := map[string]any{"provider": clip(pid)}
	refuse := func(status int, code, public, reason string) {
		details["reason"] = reason
		outcome := "denied"
		if status >= 500 {
			outcome = "error"
		}
		b.audit(r, store.AuditEvent{Actor: "anonymous", Action: "sso.backchannel_logout", Target: clip(pid),
			Outcome: outcome, Category: "integration", Details: details})
		b.d.Logger.Info("back-channel logout refused", "provider", clip(pid), "status", status, "reason", reason)
		writeLogoutJSON(w, status, logoutError{Error: code, Description: public})
	}
	// A request that carries no token to verify says nothing about anyone:
	// it is counted, not audited. reason is one of a fixed set (a metric
	// label).
	noise := func(status int, public, reason string) {
		b.d.Refused("backchannel_logout", reason)
		writeLogoutJSON(w, status, logoutError{Error: "invalid_request", Description: public})
	}

	p, ok := b.providers[pid]
	if !ok {
		noise(http.StatusNotFound, "unknown provider", "unknown_provider")
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		noise(http.StatusBadRequest, "the body must be application/x-www-form-urlencoded", "content_type")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, b.d.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			noise(http.StatusRequestEntityTooLarge, "the body is too large", "too_large")
			return
		}
		noise(http.StatusBadRequest, "the body is not a form", "malformed")
		return
	}
	// The body only: a token in the URL would sit in access logs.
	values := r.PostForm["logout_token"]
	if len(values) != 1 || values[0] == "" {
		noise(http.StatusBadRequest, "one logout_token is required", "malformed")
		return
	}

	throttleKey := "backchannel:refused:" + b.d.ClientIP(r)
	// A store failure lets the request through: the store is then likely
	// needed and failing for the logout anyway.
	if n, resetAt, err := b.d.Throttle.Count(r.Context(), throttleKey, b.d.Now()); err == nil && n >= RefusedTokenLimit {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(resetAt.Sub(b.d.Now()).Seconds()+0.5))))
		noise(http.StatusTooManyRequests, "too many invalid logout tokens; try again later", "rate_limited")
		return
	}
	lt, err := p.VerifyLogoutToken(r.Context(), values[0])
	switch {
	case errors.Is(err, providers.ErrUnavailable):
		refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "the provider's keys are not loaded yet", err.Error())
		return
	case err != nil:
		if _, _, herr := b.d.Throttle.Hit(r.Context(), throttleKey, RefusedTokenWindow, b.d.Now()); herr != nil {
			b.d.Logger.Warn("back-channel logout: counting a refused token", "err", herr)
		}
		refuse(http.StatusBadRequest, "invalid_request", "the logout token is invalid", err.Error())
		return
	}
	details["jti"] = clip(lt.JTI)
	if lt.SID != "" {
		details["sid"] = lt.SID
	}
	if lt.Subject != "" {
		details["subject"] = lt.Subject
	}

	// From here the provider hanging up must not leave the jti used and
	// the sessions alive.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), endTimeout)
	defer cancel()
	// The jti is used up before anything ends, so of two replicas given
	// the same token only one acts on it.
	err = b.d.Used.UseLogoutToken(ctx, pid, lt.JTI, lt.ReplayUntil, b.d.Now())
	switch {
	case errors.Is(err, store.ErrConflict):
		refuse(http.StatusBadRequest, "invalid_request", "the logout token was already used", "jti replayed")
		return
	case err != nil:
		b.d.Logger.Error("back-channel logout: recording the jti failed", "provider", pid, "err", err)
		refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "store: "+err.Error())
		return
	}
	ids, err := b.d.EndSessions(ctx, pid, lt.SID, lt.Subject)
	if err != nil {
		b.d.Logger.Error("back-channel logout: ending sessions failed", "provider", pid, "err", err)
		// Nothing was done, so the token may be delivered again.
		if rerr := b.d.Used.ReleaseLogoutToken(ctx, pid, lt.JTI); rerr != nil {
			b.d.Logger.Warn("back-channel logout: releasing the jti failed", "provider", pid, "err", rerr)
		}
		refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "ending sessions: "+err.Error())
		return
	}
	details["sessions"] = ids
	b.audit(r, store.AuditEvent{Actor: "provider:" + pid, Action: "sso.backchannel_logout", Target: pid,
		Outcome: "ok", Category: "auth", Details: details})
	b.d.Logger.Info("back-channel logout", "provider", pid, "sessions", len(ids))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func writeLogoutJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (b *BackChannel) audit(r *http.Request, e store.AuditEvent) {
	e.Time = b.d.Now()
	e.IP = b.d.ClientIP(r)
	// A lost audit event must not undo a logout that already happened.
	if err := b.d.Audit.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		b.d.Logger.Error("sso: audit append failed", "action", e.Action, "err", err)
	}
}
