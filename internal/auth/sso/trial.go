package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

// Token kinds of test sign-ins: the flow while the administrator is at the
// provider, and its result until they read it.
const (
	TokenTrialState  = "sso_trial_state"
	TokenTrialResult = "sso_trial_result"
)

// trialResultTTL is how long a test sign-in's result can be read.
const trialResultTTL = 15 * time.Minute

// ErrTrialNotYours: the test sign-in was started by another account (or
// its state is unknown, used or expired).
var ErrTrialNotYours = errors.New("sso: no test sign-in of yours with this state")

// Trial runs test sign-ins: an administrator signs in at a provider
// through its registered callback, and sees what the provider sent and
// what Gatehouse would do with it, without any session starting. The
// state is tied to the administrator's account, so only the browser
// signed in to the panel as them can finish it.
type Trial struct {
	Store store.Store
	Now   func() time.Time
	Rand  io.Reader
}

type trialState struct {
	Provider string `json:"provider"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
}

// TrialResult is what a test sign-in shows.
type TrialResult struct {
	Provider string `json:"provider"`
	// Claims are the ID token's claims an administrator checks: sub,
	// email, email_verified, tid/hd, groups/roles, amr.
	Claims   map[string]any `json:"claims"`
	Subject  string         `json:"subject"` // the identity link's key
	Roles    []string       `json:"roles"`   // after role_map
	Decision Decision       `json:"decision"`
	// Failed is the check the sign-in failed, "" when it passed.
	Failed string    `json:"failed,omitempty"`
	At     time.Time `json:"at"`
}

// shownClaims are the claims a test sign-in shows.
var shownClaims = []string{"iss", "aud", "sub", "email", "email_verified", "tid", "oid", "hd", "groups", "roles", "amr", "name", "preferred_username"}

func (t *Trial) random() (string, error) {
	b := make([]byte, randomBytes)
	r := t.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func trialHash(kind, v string) []byte {
	sum := sha256.Sum256([]byte(kind + "\x00" + v))
	return sum[:]
}

// Start returns where to send the administrator's browser to test p.
func (t *Trial) Start(ctx context.Context, p providers.Provider, accountID string) (string, error) {
	var v [3]string
	for i := range v {
		s, err := t.random()
		if err != nil {
			return "", err
		}
		v[i] = s
	}
	state, nonce, verifier := v[0], v[1], v[2]
	target, err := p.AuthCodeURL(state, nonce, verifier)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(trialState{Provider: p.ID(), Nonce: nonce, Verifier: verifier})
	if err != nil {
		return "", err
	}
	now := t.Now()
	err = t.Store.CreateToken(ctx, store.Token{Hash: trialHash(TokenTrialState, state), Kind: TokenTrialState, AccountID: accountID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(flowTTL)}, false)
	return target, err
}

// Owns reports whether a callback request belongs to a test sign-in.
func (t *Trial) Owns(r *http.Request) bool {
	state := r.URL.Query().Get("state")
	if state == "" {
		return false
	}
	_, err := t.Store.PeekToken(r.Context(), TokenTrialState, trialHash(TokenTrialState, state), t.Now())
	return err == nil
}

// Finish completes a test sign-in for the signed-in accountID: it
// redeems the code and runs every check a sign-in runs, then asks preview
// what would happen, and keeps the result for the administrator to read
// under the id it returns. Nothing is linked, created or started.
func (t *Trial) Finish(ctx context.Context, r *http.Request, accountID string, lookup func(id string) (providers.Provider, bool),
	preview func(ctx context.Context, providerID string, id *providers.Identity) (Decision, error)) (string, TrialResult, error) {
	q := r.URL.Query()
	tok, err := t.Store.ConsumeToken(ctx, TokenTrialState, trialHash(TokenTrialState, q.Get("state")), t.Now())
	if err != nil {
		return "", TrialResult{}, ErrTrialNotYours
	}
	var fs trialState
	if err := json.Unmarshal(tok.Data, &fs); err != nil || tok.AccountID != accountID || fs.Provider != r.PathValue("provider") {
		return "", TrialResult{}, ErrTrialNotYours
	}
	res := TrialResult{Provider: fs.Provider, Claims: map[string]any{}, At: t.Now().UTC()}
	res.Decision = Decision{Outcome: Refused, Reason: "the sign-in did not pass the checks"}
	p, ok := lookup(fs.Provider)
	switch {
	case !ok:
		res.Failed = "the provider is gone"
	case q.Get("error") != "":
		res.Failed = fmt.Sprintf("the provider answered %s: %s", q.Get("error"), q.Get("error_description"))
	default:
		res.Failed = t.redeem(ctx, q, p, fs, &res, preview)
	}
	rid, err := t.random()
	if err != nil {
		return "", TrialResult{}, err
	}
	data, err := json.Marshal(res)
	if err != nil {
		return "", TrialResult{}, err
	}
	now := t.Now()
	err = t.Store.CreateToken(ctx, store.Token{Hash: trialHash(TokenTrialResult, rid), Kind: TokenTrialResult, AccountID: accountID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(trialResultTTL)}, false)
	return rid, res, err
}

// redeem runs the checks of a real callback; the failed one's text, ""
// when all pass.
func (t *Trial) redeem(ctx context.Context, q map[string][]string, p providers.Provider, fs trialState, res *TrialResult,
	preview func(ctx context.Context, providerID string, id *providers.Identity) (Decision, error)) string {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if why := issuerProblem(p, q); why != "" {
		return "the authorization response fails the RFC 9207 check: " + why
	}
	if get("code") == "" {
		return "the provider sent no code"
	}
	id, err := p.Exchange(ctx, get("code"), fs.Verifier, fs.Nonce)
	if id != nil {
		t.fill(res, id)
	}
	if err != nil {
		return err.Error()
	}
	d, err := preview(ctx, fs.Provider, id)
	if err != nil {
		return "reading the store: " + err.Error()
	}
	res.Decision = d
	return ""
}

func (t *Trial) fill(res *TrialResult, id *providers.Identity) {
	res.Subject, res.Roles = id.Subject, slices.Clone(id.Roles)
	for _, k := range shownClaims {
		if v, ok := id.Claims[k]; ok {
			res.Claims[k] = v
		}
	}
}

// Result returns a test sign-in's result to the account that ran it.
func (t *Trial) Result(ctx context.Context, accountID, rid string) (TrialResult, error) {
	tok, err := t.Store.PeekToken(ctx, TokenTrialResult, trialHash(TokenTrialResult, rid), t.Now())
	if err != nil || tok.AccountID != accountID {
		return TrialResult{}, fmt.Errorf("test sign-in result: %w", store.ErrNotFound)
	}
	var res TrialResult
	if err := json.Unmarshal(tok.Data, &res); err != nil {
		return TrialResult{}, err
	}
	return res, nil
}
