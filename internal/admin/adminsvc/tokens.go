package adminsvc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// tokenPrefix marks Gatehouse API secrets so secret scanners and people
// recognise them.
const tokenPrefix = "ghk_"

// TokenJSON is an API token as listed; the secret is never shown again.
type TokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Account    string     `json:"account"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewToken is a token just created, with its secret, shown this once.
type NewToken struct {
	TokenJSON
	Secret string `json:"secret"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func tokenJSON(t store.APIToken) TokenJSON {
	return TokenJSON{ID: t.ID, Name: t.Name, Account: t.AccountID, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: optTime(t.ExpiresAt), LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt)}
}

// HashToken is what the store keeps of a secret.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// mintToken builds a token record and its secret.
func mintToken(accountID, name string, expires, now time.Time, rnd io.Reader) (store.APIToken, string, error) {
	id, err := account.NewID(rnd, "tok_")
	if err != nil {
		return store.APIToken{}, "", err
	}
	sb := make([]byte, 32)
	if _, err := io.ReadFull(rnd, sb); err != nil {
		return store.APIToken{}, "", fmt.Errorf("api: token secret: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(sb)
	t := store.APIToken{
		ID: id, Hash: HashToken(secret), Name: name,
		AccountID: accountID, CreatedAt: now.UTC(), ExpiresAt: expires,
	}
	return t, secret, nil
}

func checkTokenName(name string) error {
	switch {
	case name == "":
		return validation.One("name", "required", "a name is required")
	case utf8.RuneCountInString(name) > maxNameLen:
		return validation.One("name", "too_long", "the name must be at most %d characters", maxNameLen)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return validation.One("name", "invalid", "the name contains characters that are not allowed")
	}
	return nil
}

// CreateAPIToken creates a token acting as the caller. The secret is in
// the result only; the store keeps its hash.
func (s *Service) CreateAPIToken(ctx context.Context, c authz.Caller, name string, expires time.Time) (_ NewToken, err error) {
	defer s.finish(ctx, c, OpTokenCreate, "", &err)
	if err = s.Permit(c, OpTokenCreate); err != nil {
		return
	}
	if s.Tokens == nil {
		return NewToken{}, fmt.Errorf("%w: API tokens", apperr.ErrUnavailable)
	}
	name = strings.TrimSpace(name)
	if err := checkTokenName(name); err != nil {
		return NewToken{}, err
	}
	now := s.Now().UTC()
	if !expires.IsZero() && !expires.After(now) {
		return NewToken{}, validation.One("expires_at", "invalid", "the expiry must be in the future")
	}
	t, secret, err := mintToken(c.Account.ID, name, expires.UTC(), now, s.Rand)
	if err != nil {
		return NewToken{}, err
	}
	if err := s.Tokens.CreateAPIToken(ctx, t); err != nil {
		return NewToken{}, err
	}
	// A token acts as its owner everywhere: the event concerns every
	// company the owner belongs to.
	e := s.event(ctx, c, "api_token.create", t.ID, "ok", map[string]any{"name": name}).In(store.CompaniesOf(c.Memberships)...)
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		return NewToken{}, err
	}
	return NewToken{TokenJSON: tokenJSON(t), Secret: secret}, nil
}

// ListAPITokens lists the caller's tokens and those of accounts they manage.
func (s *Service) ListAPITokens(ctx context.Context, c authz.Caller) (_ []TokenJSON, err error) {
	if err = s.Permit(c, OpTokenList); err != nil {
		return
	}
	if s.Tokens == nil {
		return nil, fmt.Errorf("%w: API tokens", apperr.ErrUnavailable)
	}
	all, err := s.Tokens.ListAPITokens(ctx)
	if err != nil {
		return nil, err
	}
	out := []TokenJSON{}
	for _, t := range all {
		if ok, err := s.tokenInScope(ctx, c, t); err != nil {
			return nil, err
		} else if ok {
			out = append(out, tokenJSON(t))
		}
	}
	return out, nil
}

func (s *Service) tokenInScope(ctx context.Context, c authz.Caller, t store.APIToken) (bool, error) {
	if t.AccountID == c.Account.ID {
		return true, nil
	}
	ms, err := s.Store.ListMemberships(ctx, t.AccountID)
	if err != nil {
		return false, err
	}
	// A token signs in as its account: it is the account's as a whole.
	return s.Policy.ManagesAccount(c, ms), nil
}

// RevokeAPIToken revokes a token; it stops working at once.
func (s *Service) RevokeAPIToken(ctx context.Context, c authz.Caller, id string) (err error) {
	defer s.finish(ctx, c, OpTokenRevoke, id, &err)
	if err = s.Permit(c, OpTokenRevoke); err != nil {
		return
	}
	if s.Tokens == nil {
		return fmt.Errorf("%w: API tokens", apperr.ErrUnavailable)
	}
	t, err := s.Tokens.GetAPIToken(ctx, id)
	if err != nil {
		return err
	}
	if ok, err := s.tokenInScope(ctx, c, t); err != nil {
		return err
	} else if !ok {
		return hidden{authz.ErrForbidden}
	}
	if err := s.Tokens.RevokeAPIToken(ctx, id, s.Now().UTC()); err != nil {
		return err
	}
	owner, err := s.Store.ListMemberships(ctx, t.AccountID)
	if err != nil {
		return err
	}
	return s.Store.AppendAudit(ctx, s.event(ctx, c, "api_token.revoke", id, "ok", map[string]any{"name": t.Name}).In(store.CompaniesOf(owner)...))
}

// Authenticate resolves a Bearer secret to its token: ErrUnauthenticated
// when the secret is unknown, revoked or expired.
func (s *Service) Authenticate(ctx context.Context, secret string) (store.APIToken, error) {
	if s.Tokens == nil || !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return store.APIToken{}, authz.ErrUnauthenticated
	}
	t, err := s.Tokens.GetAPITokenByHash(ctx, HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return store.APIToken{}, authz.ErrUnauthenticated
	}
	if err != nil {
		return store.APIToken{}, err
	}
	now := s.Now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return store.APIToken{}, authz.ErrUnauthenticated
	}
	if err := s.Tokens.TouchAPIToken(ctx, t.ID, now.UTC()); err != nil {
		s.Logger.Warn("recording API token use", "token", t.ID, "err", err)
	}
	return t, nil
}

// ErrNotAdmin: the account named for a CLI token is not an active administrator.
var ErrNotAdmin = errors.New("the account is not an active administrator")

// CreateToken creates an API token for the active administrator with the
// given email, for `gatehouse token create`. It returns the secret, which
// is shown once and never stored.
func CreateToken(ctx context.Context, tokens store.APITokens, st store.Store, roles *account.Model,
	adminEmail, name string, now time.Time, rnd io.Reader) (string, error) {
	if tokens == nil {
		return "", fmt.Errorf("%w: API tokens", apperr.ErrUnavailable)
	}
	name = strings.TrimSpace(name)
	if err := checkTokenName(name); err != nil {
		return "", err
	}
	acc, err := st.GetAccountByEmail(ctx, strings.TrimSpace(adminEmail))
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no account with email %q: %w", adminEmail, store.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	ms, err := st.ListMemberships(ctx, acc.ID)
	if err != nil {
		return "", err
	}
	if !(authz.Policy{Roles: roles}).IsAdmin(authz.Caller{Account: acc, Memberships: ms}) {
		return "", ErrNotAdmin
	}
	t, secret, err := mintToken(acc.ID, name, time.Time{}, now, rnd)
	if err != nil {
		return "", err
	}
	if err := tokens.CreateAPIToken(ctx, t); err != nil {
		return "", err
	}
	if err := st.AppendAudit(ctx, store.AuditEvent{
		Time: now.UTC(), Actor: "cli", Action: "api_token.create", Target: t.ID, Outcome: "ok",
		Category: "admin", Details: map[string]any{"name": name, "account": acc.ID},
		Companies: store.CompaniesOf(ms),
	}); err != nil {
		return "", err
	}
	return secret, nil
}
