package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/internal/cookies"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ceremony is what a begin call leaves for its finish call, kept server
// side so the browser can neither read nor alter it.
type ceremony struct {
	Session   webauthn.SessionData `json:"session"`
	AccountID string               `json:"account,omitempty"`
	// SessionID binds a registration to the session that began it.
	SessionID string `json:"sid,omitempty"`
	Name      string `json:"name,omitempty"`
	Redirect  string `json:"rd,omitempty"`
	// EnrolHash is the enrolment link's token hash, consumed at finish.
	EnrolHash []byte `json:"enrol,omitempty"`
}

// cookieName gives each kind (and the conditional login) its own cookie,
// so an autofill request waiting in the background and a button click do
// not overwrite each other's state.
func (h *Handler) cookieName(kind string) string {
	return cookies.Name(cookies.Passkey(kind), h.secure)
}

func hashID(id string) []byte {
	s := sha256.Sum256([]byte(id))
	return s[:]
}

func (h *Handler) randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(h.d.Rand, b); err != nil {
		return "", fmt.Errorf("passkey: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// saveCeremony stores c under a fresh random id and hands the id to the
// browser in a short-lived HttpOnly cookie.
func (h *Handler) saveCeremony(ctx context.Context, w http.ResponseWriter, kind, slot string, c ceremony) error {
	id, err := h.randomID()
	if err != nil {
		return err
	}
	// The library's own expiry check reads the wall clock; ours is the
	// token's expiry judged with the injected clock.
	c.Session.Expires = time.Time{}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	now := h.d.Now()
	if err := h.d.Store.CreateToken(ctx, store.Token{
		Hash: hashID(id), Kind: kind, AccountID: c.AccountID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(h.d.CeremonyTTL),
	}, false); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(slot), Value: id, Path: "/", MaxAge: int(h.d.CeremonyTTL / time.Second),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// takeCeremony consumes the state named by the request's cookie: each
// begin allows exactly one finish.
func (h *Handler) takeCeremony(ctx context.Context, w http.ResponseWriter, r *http.Request, kind, slot string) (ceremony, error) {
	ck, err := r.Cookie(h.cookieName(slot))
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(slot), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode})
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return ceremony{}, ErrNoCeremony
	}
	t, err := h.d.Store.ConsumeToken(ctx, kind, hashID(ck.Value), h.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return ceremony{}, ErrNoCeremony
	}
	if err != nil {
		return ceremony{}, err
	}
	var c ceremony
	if err := json.Unmarshal(t.Data, &c); err != nil {
		return ceremony{}, fmt.Errorf("passkey: ceremony data: %w", err)
	}
	return c, nil
}
