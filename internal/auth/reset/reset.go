// Package reset serves "forgot password" and the set-password page that
// reset and invitation links open, issuing single-use, hashed, expiring tokens.
package reset

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Defaults.
const (
	DefaultResetTTL    = 30 * time.Minute
	DefaultInviteTTL   = 72 * time.Hour
	DefaultMaxPerHour  = 3
	DefaultMaxInFlight = 16
	backgroundTimeout  = 30 * time.Second
	tokenBytes         = 32
	maxTokenLen        = 64
	maxEmailLen        = 320
)

// Paths this package serves.
const (
	ForgotPath = "/.gatehouse/password/forgot"
	ResetPath  = "/.gatehouse/password/reset"
	loginDone  = "/.gatehouse/login?notice=password_reset"
	sentPath   = ForgotPath + "?sent=1"
)

// PasswordSetter sets a password under the policy, fills the names an
// invitee gives and activates an invited account (account.Service).
type PasswordSetter interface {
	SetPasswordWithNames(ctx context.Context, id, pw string, n account.Names) error
}

// SessionEnder ends every session of an account (session.Manager).
type SessionEnder interface {
	EndAccount(ctx context.Context, accountID string) ([]string, error)
}

// Mailer queues mail for delivery (mail.Queue).
type Mailer interface {
	Enqueue(ctx context.Context, m mail.Message, kind, accountID string) (int64, error)
	CountRecent(ctx context.Context, kind, to string, since time.Time) (int, error)
}

// IPLimiter rate-limits a client (throttle.Guard); nil means no limit.
type IPLimiter interface {
	LimitIP(ctx context.Context, r *http.Request, bucket string) (ok bool, retryAfter time.Duration)
}

// Deps is everything password reset and invitations need, given to New at
// once. Zero durations and limits take the defaults; nil Now, Rand, Logger
// and ClientIP the real clock, crypto/rand, no logging and no address.
type Deps struct {
	Renderer  *web.Renderer
	CSRF      *web.CSRF
	Accounts  store.Accounts
	Tokens    store.Tokens
	Audit     store.Audit
	Passwords PasswordSetter
	Sessions  SessionEnder
	Mail      Mailer
	Templates *mail.Templates
	Limiter   IPLimiter
	// PublicURL is the only base of links in mail; request headers never are.
	PublicURL    string
	ResetTTL     time.Duration
	InviteTTL    time.Duration
	MaxPerHour   int // reset mails per address per hour
	MaxFormBytes int64
	ClientIP     func(r *http.Request) string
	Now          func() time.Time
	Rand         io.Reader
	Logger       *slog.Logger
}

// Handler serves the forgot-password and set-password pages and issues
// reset and invitation links.
type Handler struct {
	d        Deps
	inFlight chan struct{}
	wg       sync.WaitGroup
}

// New builds password reset and invitations, complete.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.ResetTTL <= 0 {
		d.ResetTTL = DefaultResetTTL
	}
	if d.InviteTTL <= 0 {
		d.InviteTTL = DefaultInviteTTL
	}
	if d.MaxPerHour <= 0 {
		d.MaxPerHour = DefaultMaxPerHour
	}
	if d.ClientIP == nil {
		d.ClientIP = func(*http.Request) string { return "" }
	}
	return &Handler{d: d, inFlight: make(chan struct{}, DefaultMaxInFlight)}
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ForgotPath, h.forgotPage)
	mux.HandleFunc("POST "+ForgotPath, h.forgotSubmit)
	mux.HandleFunc("GET "+ResetPath, h.resetPage)
	mux.HandleFunc("POST "+ResetPath, h.resetSubmit)
}

// Wait blocks until the background work of earlier forgot requests is
// done: for graceful shutdown and for tests.
func (h *Handler) Wait() { h.wg.Wait() }

// ---- forgot -------------------------------------------------------------

func (h *Handler) renderForgot(w http.ResponseWriter, r *http.Request, status int, errKey, notice string) {
	p := h.d.Renderer.Page(i18n.Negotiate("", r), h.d.CSRF.Token(w, r))
	p.Title = p.T("forgot.title")
	if errKey != "" {
		p.Error = p.T(errKey)
	}
	p.Notice = notice
	h.d.Renderer.Render(w, status, "forgot", p)
}

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	notice := ""
	if r.URL.Query().Get("sent") == "1" {
		notice = h.d.Renderer.Catalog.T(i18n.Negotiate("", r), "forgot.sent")
	}
	h.renderForgot(w, r, http.StatusOK, "", notice)
}

// forgotSubmit answers every well-formed request the same way, at once:
// the lookup, the token and the mail happen off the request path, so
// neither the page, the status nor the timing tells whether the address
// belongs to an account.
func (h *Handler) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, h.d.MaxFormBytes, h.d.Renderer, h.d.CSRF) {
		return
	}
	if h.d.Limiter != nil {
		if ok, retry := h.d.Limiter.LimitIP(r.Context(), r, "forgot"); !ok {
			w.Header().Set("Retry-After", fmt.Sprint(max(int(retry.Round(time.Second)/time.Second), 1)))
			h.renderForgot(w, r, http.StatusTooManyRequests, "forgot.throttled", "")
			return
		}
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if email == "" {
		h.renderForgot(w, r, http.StatusBadRequest, "forgot.email_required", "")
		return
	}
	if len(email) <= maxEmailLen {
		h.background(email, h.d.ClientIP(r), i18n.Negotiate("", r))
	}
	http.Redirect(w, r, sentPath, http.StatusSeeOther)
}

// background runs the forgot work with its own deadline, at most
// DefaultMaxInFlight at a time; beyond that the request is dropped, which
// an attacker flooding the form cannot tell from a sent mail.
func (h *Handler) background(email, ip, lang string) {
	select {
	case h.inFlight <- struct{}{}:
	default:
		h.d.Logger.Warn("password reset: too many requests in flight, dropping one")
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() { <-h.inFlight }()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		h.requestReset(ctx, email, ip, lang)
	}()
}

func (h *Handler) requestReset(ctx context.Context, email, ip, lang string) {
	acct, err := h.d.Accounts.GetAccountByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		h.d.Logger.Error("password reset: reading account", "err", err)
		return
	}
	deny := func(reason string) {
		h.audit(ctx, store.AuditEvent{Actor: "anonymous", Action: "password.reset_request", Target: acct.ID, IP: ip,
			Outcome: "denied", Category: "auth", Details: map[string]any{"reason": reason}})
	}
	switch {
	case !account.UsesPassword(acct):
		deny("sso_account")
		return
	case acct.Status != store.StatusActive && acct.Status != store.StatusInvited:
		deny("status_" + acct.Status)
		return
	}
	since := h.d.Now().Add(-time.Hour)
	if n, err := h.d.Mail.CountRecent(ctx, mail.KindPasswordReset, acct.Email, since); err != nil {
		h.d.Logger.Error("password reset: counting mail", "err", err)
		return
	} else if n >= h.d.MaxPerHour {
		deny("rate_limited")
		return
	}
	if acct.Language != "" {
		lang = acct.Language
	}
	if err := h.issueAndMail(ctx, acct, store.TokenPasswordReset, mail.KindPasswordReset, h.d.ResetTTL, lang); err != nil {
		h.d.Logger.Error("password reset: issuing", "err", err, "account", acct.ID)
		return
	}
	h.audit(ctx, store.AuditEvent{Actor: "anonymous", Action: "password.reset_request", Target: acct.ID, IP: ip,
		Outcome: "ok", Category: "auth"})
}

// SendInvitation mails a password account its set-password link. The
// account stays invited until the password is set.
func (h *Handler) SendInvitation(ctx context.Context, acct store.Account) error {
	if !account.UsesPassword(acct) {
		return fmt.Errorf("reset: invitation for %s: not a password account", acct.ID)
	}
	if acct.Status != store.StatusInvited && acct.Status != store.StatusActive {
		return fmt.Errorf("reset: invitation for %s: account is %s", acct.ID, acct.Status)
	}
	return h.issueAndMail(ctx, acct, store.TokenInvitation, mail.KindInvitation, h.d.InviteTTL, acct.Language)
}

// issueAndMail replaces the account's earlier tokens of kind with a new
// one and queues the mail carrying its link.
func (h *Handler) issueAndMail(ctx context.Context, acct store.Account, tokenKind, mailKind string, ttl time.Duration, lang string) error {
	raw := make([]byte, tokenBytes)
	if _, err := io.ReadFull(h.d.Rand, raw); err != nil {
		return fmt.Errorf("reset: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := h.d.Now().UTC()
	if err := h.d.Tokens.CreateToken(ctx, store.Token{
		Hash: hashToken(token), Kind: tokenKind, AccountID: acct.ID,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}, true); err != nil {
		return fmt.Errorf("reset: storing token: %w", err)
	}
	msg, err := h.d.Templates.Render(mailKind, lang, mail.Data{
		To: acct.Email, Name: greeting(acct), Link: h.Link(token), ValidFor: ttl,
	})
	if err != nil {
		return err
	}
	if _, err := h.d.Mail.Enqueue(ctx, msg, mailKind, acct.ID); err != nil {
		return fmt.Errorf("reset: queueing mail: %w", err)
	}
	return nil
}

// Link is the set-password URL for token, built from the configured
// public URL only.
func (h *Handler) Link(token string) string {
	return strings.TrimRight(h.d.PublicURL, "/") + ResetPath + "?token=" + token
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func greeting(a store.Account) string {
	if n := strings.TrimSpace(a.FirstName); n != "" {
		return n
	}
	return a.Email
}

func (h *Handler) audit(ctx context.Context, e store.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = h.d.Now().UTC()
	}
	if err := h.d.Audit.AppendAudit(ctx, e); err != nil {
		h.d.Logger.Error("audit", "err", err, "action", e.Action)
	}
}
