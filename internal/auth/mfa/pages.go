package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/login"
	"github.com/gatehouse/gatehouse/internal/cookies"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Paths of the second-factor pages.
const (
	CodePath    = "/.gatehouse/mfa/code"  // the code asked after a correct password
	SetupPath   = "/.gatehouse/mfa/setup" // setting one up right after the password, when required
	AccountPath = "/.gatehouse/account/mfa"
	ReauthPath  = "/.gatehouse/reauth" // gate.StepUpPath
)

// pendingTTL bounds the time between the password and the code (or the
// end of a required set-up).
const pendingTTL = 10 * time.Minute

// pendingCookie names the browser's pending sign-in.
const pendingCookie = cookies.Prefix + "mfa"

// Sessions starts sessions and finds the request's.
type Sessions interface {
	Start(ctx context.Context, w http.ResponseWriter, r *http.Request, p session.StartParams) (store.Session, error)
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
}

// Passwords verifies a password again before a second factor is removed.
type Passwords interface {
	Verify(ctx context.Context, pw, phc string) (ok bool, needsRehash bool, err error)
}

// Policy tells whether an account must use a second factor (a role it
// holds requires it); account.Service is one.
type Policy interface {
	RequiresMFA(ctx context.Context, accountID string) (bool, error)
}

// PagesStore is what the pages read and write besides the second factors.
type PagesStore interface {
	store.Accounts
	store.Tokens
	store.Audit
}

// PagesDeps is everything the second factor's pages need, given to
// NewPages at once.
type PagesDeps struct {
	MFA          *Service
	Policy       Policy
	Store        PagesStore
	Sessions     Sessions
	Passwords    Passwords
	Renderer     *web.Renderer
	CSRF         *web.CSRF
	Redirect     func(rd string) string // a safe target for rd
	Secure       bool                   // public_url is https: the cookie is __Host- and Secure
	MaxFormBytes int64
	ClientIP     func(r *http.Request) string
	// PasskeysOff hides the passkey button of the re-authentication page.
	PasskeysOff bool
	Providers   func() []login.ProviderButton
	Now         func() time.Time
	Rand        io.Reader
	Logger      *slog.Logger
}

// Pages serves the second factor's pages: the code after the password,
// the set-up that a policy requires before anything else, the account
// page's set-up and removal, and the re-authentication page routes send
// browsers to for a step-up.
type Pages struct{ d PagesDeps }

// NewPages builds the pages, complete.
func NewPages(d PagesDeps) *Pages {
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	return &Pages{d: d}
}

// Mount registers the pages.
func (p *Pages) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+CodePath, p.codePage)
	mux.HandleFunc("POST "+CodePath, p.codeSubmit)
	mux.HandleFunc("GET "+SetupPath, p.setupPage)
	mux.HandleFunc("POST "+SetupPath, p.setupSubmit)
	mux.HandleFunc("GET "+AccountPath, p.accountPage)
	mux.HandleFunc("POST "+AccountPath+"/confirm", p.accountConfirm)
	mux.HandleFunc("POST "+AccountPath+"/remove", p.accountRemove)
	mux.HandleFunc("GET "+ReauthPath, p.reauthPage)
}

// pending is the payload of a pending sign-in's token.
type pending struct {
	Redirect string `json:"rd"`
	Setup    bool   `json:"setup"` // no second factor yet, and one is required
}

// AfterPassword decides what follows a correct password for acct: when
// the account has a second factor, the code page; when it must have one
// and has none, its set-up; otherwise nothing (handled is false, and the
// caller starts the session). No session exists until the second step is
// done, so a person who must set one up reaches nothing else first.
func (p *Pages) AfterPassword(ctx context.Context, w http.ResponseWriter, r *http.Request, acct store.Account, rd string) (handled bool, err error) {
	enrolled, err := p.d.MFA.Enrolled(ctx, acct.ID)
	if err != nil {
		return false, err
	}
	setup := false
	if !enrolled {
		if setup, err = p.d.Policy.RequiresMFA(ctx, acct.ID); err != nil || !setup {
			return false, err
		}
	}
	token := make([]byte, 32)
	if _, err := io.ReadFull(p.d.Rand, token); err != nil {
		return false, err
	}
	data, _ := json.Marshal(pending{Redirect: rd, Setup: setup})
	now := p.d.Now()
	err = p.d.Store.CreateToken(ctx, store.Token{Hash: hashToken(token), Kind: store.TokenMFASignIn, AccountID: acct.ID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(pendingTTL)}, true)
	if err != nil {
		return false, err
	}
	http.SetCookie(w, &http.Cookie{Name: cookies.Name(pendingCookie, p.d.Secure), Value: base64.RawURLEncoding.EncodeToString(token),
		Path: "/", MaxAge: int(pendingTTL / time.Second), HttpOnly: true, Secure: p.d.Secure, SameSite: http.SameSiteLaxMode})
	next := CodePath
	if setup {
		next = SetupPath
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return true, nil
}

func hashToken(t []byte) []byte {
	h := sha256.Sum256(t)
	return h[:]
}

// pendingOf finds the request's pending sign-in, without using it.
func (p *Pages) pendingOf(r *http.Request) (store.Token, pending, []byte, bool) {
	c, err := r.Cookie(cookies.Name(pendingCookie, p.d.Secure))
	if err != nil || len(c.Value) > 64 {
		return store.Token{}, pending{}, nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return store.Token{}, pending{}, nil, false
	}
	t, err := p.d.Store.PeekToken(r.Context(), store.TokenMFASignIn, hashToken(raw), p.d.Now())
	if err != nil {
		return store.Token{}, pending{}, nil, false
	}
	var pd pending
	if json.Unmarshal(t.Data, &pd) != nil {
		return store.Token{}, pending{}, nil, false
	}
	return t, pd, raw, true
}

// noPending sends a browser without a (live) pending sign-in back to the
// login page: its ten minutes are over, or it never had one.
func (p *Pages) noPending(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/.gatehouse/login?notice=mfa_expired", http.StatusSeeOther)
}

type codeData struct {
	Mode      string // "code", "setup", "recovery", "status", "reauth"
	Action    string
	Redirect  string
	Secret    string
	QR        template.URL
	Codes     []string
	Left      int
	Continue  string
	Enrolled  bool
	Reauth    reauthData
	Providers []login.ProviderButton
	Passkeys  bool
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, titleKey, errKey string, d codeData) {
	pg := p.d.Renderer.Page(i18n.Negotiate("", r), p.d.CSRF.Token(w, r))
	pg.Title = pg.T(titleKey)
	if errKey != "" {
		pg.Error = pg.T(errKey)
	}
	pg.Data = d
	p.d.Renderer.Render(w, status, "mfa", pg)
}

func (p *Pages) codePage(w http.ResponseWriter, r *http.Request) {
	if _, pd, _, ok := p.pendingOf(r); !ok || pd.Setup {
		p.noPending(w, r)
		return
	}
	p.render(w, r, http.StatusOK, "mfa.code.title", "", codeData{Mode: "code", Action: CodePath})
}

func (p *Pages) codeSubmit(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, p.d.MaxFormBytes, p.d.Renderer, p.d.CSRF) {
		return
	}
	ctx := r.Context()
	t, pd, raw, ok := p.pendingOf(r)
	if !ok || pd.Setup {
		p.noPending(w, r)
		return
	}
	ip := p.d.ClientIP(r)
	method, err := p.d.MFA.Verify(ctx, t.AccountID, r.PostFormValue("code"))
	if err != nil {
		reason, key, status := "bad_code", "mfa.code.failed", http.StatusUnauthorized
		switch {
		case errors.Is(err, ErrThrottled):
			reason, key, status = "mfa_throttled", "mfa.code.throttled", http.StatusTooManyRequests
		case errors.Is(err, ErrInvalidCode):
		case errors.Is(err, ErrNotEnrolled):
			// Removed by an admin meanwhile: start over.
			p.noPending(w, r)
			return
		default:
			p.d.Logger.Error("mfa: verifying code", "err", err)
			p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
			return
		}
		p.audit(ctx, store.AuditEvent{Actor: t.AccountID, Action: "login.failure", Target: t.AccountID, IP: ip, Outcome: "denied",
			Category: "auth", Details: map[string]any{"method": "password", "reason": reason}})
		p.render(w, r, status, "mfa.code.title", key, codeData{Mode: "code", Action: CodePath})
		return
	}
	p.finish(w, r, t, pd, raw, "password+"+method, nil)
}

// finish spends the pending sign-in and starts the session: a password and
// a one-time code, two factors. codes, when set, is the page of
// recovery codes to show before going on.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request, t store.Token, pd pending, raw []byte, method string, codes []string) {
	ctx := r.Context()
	if _, err := p.d.Store.ConsumeToken(ctx, store.TokenMFASignIn, hashToken(raw), p.d.Now()); err != nil {
		// Another request finished this sign-in first.
		p.noPending(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookies.Name(pendingCookie, p.d.Secure), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.d.Secure, SameSite: http.SameSiteLaxMode})
	acct, err := p.d.Store.GetAccount(ctx, t.AccountID)
	if err == nil && acct.Status != store.StatusActive {
		err = store.ErrNotFound
	}
	if err != nil {
		p.noPending(w, r)
		return
	}
	ip := p.d.ClientIP(r)
	sess, err := p.d.Sessions.Start(ctx, w, r, session.StartParams{
		AccountID: acct.ID, AMR: []string{session.AMRPassword, session.AMROTP, session.AMRMulti}, IDP: "local",
		Shared: acct.Kind == store.KindSharedComputer, UserAgent: r.UserAgent(), IP: ip,
	})
	if err != nil {
		p.d.Logger.Error("mfa: starting session", "err", err)
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	p.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "login.success", Target: acct.ID, IP: ip, Outcome: "ok", Category: "auth",
		Details: map[string]any{"method": method, "session": sess.ID}})
	rd := p.d.Redirect(pd.Redirect)
	if codes != nil {
		p.render(w, r, http.StatusOK, "mfa.recovery.title", "", codeData{Mode: "recovery", Codes: codes, Continue: rd})
		return
	}
	http.Redirect(w, r, rd, http.StatusSeeOther)
}

func (p *Pages) setupPage(w http.ResponseWriter, r *http.Request) {
	t, pd, _, ok := p.pendingOf(r)
	if !ok || !pd.Setup {
		p.noPending(w, r)
		return
	}
	d, err := p.enrolment(r.Context(), t.AccountID)
	if err != nil {
		p.d.Logger.Error("mfa: starting set-up", "err", err)
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	d.Action = SetupPath
	p.render(w, r, http.StatusOK, "mfa.setup.title", "", d)
}

// enrolment shows the pending key, making one when there is none: a
// reload shows the same key, so an app that already scanned it works.
func (p *Pages) enrolment(ctx context.Context, accountID string) (codeData, error) {
	acct, err := p.d.Store.GetAccount(ctx, accountID)
	if err != nil {
		return codeData{}, err
	}
	e, err := p.d.MFA.Begin(ctx, acct.ID, acct.Email)
	if err != nil {
		return codeData{}, err
	}
	return codeData{Mode: "setup", Secret: e.Secret,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QR))}, nil
}

func (p *Pages) setupSubmit(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, p.d.MaxFormBytes, p.d.Renderer, p.d.CSRF) {
		return
	}
	t, pd, raw, ok := p.pendingOf(r)
	if !ok || !pd.Setup {
		p.noPending(w, r)
		return
	}
	codes, ok := p.confirm(w, r, t.AccountID, SetupPath, "mfa.setup.title")
	if !ok {
		return
	}
	p.finish(w, r, t, pd, raw, "password+totp_setup", codes)
}

// confirm checks the first code of a pending key; on a wrong one it shows
// the set-up again (the same key) and answers false.
func (p *Pages) confirm(w http.ResponseWriter, r *http.Request, accountID, action, titleKey string) ([]string, bool) {
	ctx := r.Context()
	codes, err := p.d.MFA.Confirm(ctx, accountID, r.PostFormValue("code"))
	if err == nil {
		p.audit(ctx, store.AuditEvent{Actor: accountID, Action: "mfa.enrol", Target: accountID, IP: p.d.ClientIP(r), Outcome: "ok", Category: "auth",
			Details: map[string]any{"method": "totp"}})
		return codes, true
	}
	key, status := "mfa.code.failed", http.StatusBadRequest
	switch {
	case errors.Is(err, ErrThrottled):
		key, status = "mfa.code.throttled", http.StatusTooManyRequests
	case errors.Is(err, ErrInvalidCode), errors.Is(err, ErrNotEnrolled):
	case errors.Is(err, ErrEnrolled):
		http.Redirect(w, r, AccountPath, http.StatusSeeOther)
		return nil, false
	default:
		p.d.Logger.Error("mfa: confirming", "err", err)
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return nil, false
	}
	d, err := p.enrolment(ctx, accountID)
	if err != nil {
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return nil, false
	}
	d.Action = action
	p.render(w, r, status, titleKey, key, d)
	return nil, false
}

// signedIn returns the request's account, or sends the browser to sign in.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	sess, err := p.d.Sessions.Lookup(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, "/.gatehouse/login?rd="+AccountPath, http.StatusFound)
		return store.Account{}, false
	}
	var acct store.Account
	if err == nil {
		acct, err = p.d.Store.GetAccount(r.Context(), sess.AccountID)
	}
	if err != nil {
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return store.Account{}, false
	}
	return acct, true
}

func (p *Pages) accountPage(w http.ResponseWriter, r *http.Request) {
	acct, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if acct.PasswordHash == "" {
		// A second factor completes a password; SSO and passkey-only
		// accounts have nothing for it to complete.
		p.render(w, r, http.StatusOK, "mfa.account.title", "mfa.account.no_password", codeData{Mode: "none"})
		return
	}
	enrolled, err := p.d.MFA.Enrolled(ctx, acct.ID)
	if err != nil {
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	if enrolled {
		left, err := p.d.MFA.RecoveryCodesLeft(ctx, acct.ID)
		if err != nil {
			p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
			return
		}
		p.render(w, r, http.StatusOK, "mfa.account.title", "", codeData{Mode: "status", Enrolled: true, Left: left})
		return
	}
	d, err := p.enrolment(ctx, acct.ID)
	if err != nil {
		p.d.Logger.Error("mfa: starting set-up", "err", err)
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	d.Action = AccountPath + "/confirm"
	p.render(w, r, http.StatusOK, "mfa.account.title", "", d)
}

func (p *Pages) accountConfirm(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, p.d.MaxFormBytes, p.d.Renderer, p.d.CSRF) {
		return
	}
	acct, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	codes, ok := p.confirm(w, r, acct.ID, AccountPath+"/confirm", "mfa.account.title")
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "mfa.recovery.title", "", codeData{Mode: "recovery", Codes: codes, Continue: "/.gatehouse/account/"})
}

// accountRemove removes the second factor after asking for the password
// again: a session left open on a shared desk must not be enough.
func (p *Pages) accountRemove(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, p.d.MaxFormBytes, p.d.Renderer, p.d.CSRF) {
		return
	}
	acct, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ip := p.d.ClientIP(r)
	pw := r.PostFormValue("password")
	good := false
	if acct.PasswordHash != "" && len(pw) <= 4096 {
		var err error
		if good, _, err = p.d.Passwords.Verify(ctx, pw, acct.PasswordHash); err != nil {
			good = false
		}
	}
	if !good {
		p.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "mfa.remove", Target: acct.ID, IP: ip, Outcome: "denied", Category: "auth",
			Details: map[string]any{"reason": "bad_password"}})
		left, _ := p.d.MFA.RecoveryCodesLeft(ctx, acct.ID)
		p.render(w, r, http.StatusUnauthorized, "mfa.account.title", "mfa.remove.failed", codeData{Mode: "status", Enrolled: true, Left: left})
		return
	}
	if err := p.d.MFA.Remove(ctx, acct.ID); err != nil && !errors.Is(err, ErrNotEnrolled) {
		p.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	p.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "mfa.remove", Target: acct.ID, IP: ip, Outcome: "ok", Category: "auth"})
	http.Redirect(w, r, AccountPath, http.StatusSeeOther)
}

// reauthData says what the route asks of the new sign-in, as the gate
// put it in the query (informative only: the gate checks the session).
type reauthData struct {
	MFA      bool
	MaxAge   string
	AMR      []string
	Password bool // a password sign-in (with its code) can qualify
	Passkey  bool
	SSO      bool
}

func (p *Pages) reauthPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rd := p.d.Redirect(q.Get("rd"))
	var d reauthData
	d.MFA = q.Get("mfa") == "1"
	if s := q.Get("max_age"); s != "" {
		if n, err := time.ParseDuration(s + "s"); err == nil && n > 0 {
			d.MaxAge = n.String()
		}
	}
	for _, m := range strings.Split(q.Get("amr"), ",") {
		if m != "" && len(d.AMR) < 6 {
			d.AMR = append(d.AMR, m)
		}
	}
	allows := func(ms ...string) bool {
		if len(d.AMR) == 0 {
			return true
		}
		for _, m := range ms {
			for _, a := range d.AMR {
				if a == m {
					return true
				}
			}
		}
		return false
	}
	// A password qualifies through its code (otp, mfa) or alone (pwd);
	// a passkey as hwk or swk (and counts as mfa); SSO as fed (or mfa,
	// when the provider vouches for it).
	d.Password = allows(session.AMRPassword, session.AMROTP, session.AMRMulti)
	d.Passkey = !p.d.PasskeysOff && allows(session.AMRHardware, session.AMRSoftware, session.AMRMulti)
	d.SSO = allows(session.AMRFederated, session.AMRMulti)
	var providers []login.ProviderButton
	if d.SSO && p.d.Providers != nil {
		providers = p.d.Providers()
	}
	p.render(w, r, http.StatusOK, "mfa.reauth.title", "", codeData{Mode: "reauth", Redirect: rd, Reauth: d,
		Providers: providers, Passkeys: d.Passkey})
}

func (p *Pages) audit(ctx context.Context, e store.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = p.d.Now()
	}
	if err := p.d.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		p.d.Logger.Error("audit", "err", err, "action", e.Action)
	}
}
