package session

import (
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Sign-in methods, as the account page and the admin API name them.
const (
	MethodPassword = "password"
	MethodPasskey  = "passkey"
	MethodSSO      = "sso"
)

// Method is how s signed in, derived from its RFC 8176 amr values and its
// idp: "sso" for a provider, "passkey", "password", or "" for a record
// that says neither (written before these were kept).
func Method(s store.Session) string {
	switch {
	case s.IDP != "" && s.IDP != "local", slices.Contains(s.AMR, "fed"):
		return MethodSSO
	case slices.Contains(s.AMR, "hwk"), slices.Contains(s.AMR, "swk"):
		return MethodPasskey
	case slices.Contains(s.AMR, "pwd"):
		return MethodPassword
	}
	return ""
}

// Authentication methods (RFC 8176) as the session and the assertion's
// amr claim name them.
const (
	AMRPassword  = "pwd"
	AMROTP       = "otp" // a one-time code: TOTP or a recovery code
	AMRHardware  = "hwk" // a device-bound passkey
	AMRSoftware  = "swk" // a synced passkey
	AMRFederated = "fed"
	AMRMulti     = "mfa" // more than one factor
)

// MultiFactor reports whether a sign-in with these methods used more than
// one factor: it says mfa, or it was a passkey, whose ceremony requires
// user verification (the device and a PIN or biometric).
func MultiFactor(amr []string) bool {
	for _, m := range amr {
		if m == AMRMulti || m == AMRHardware || m == AMRSoftware {
			return true
		}
	}
	return false
}

// AuthTime is when the session last authenticated. A session is never
// upgraded in place: every sign-in, a step-up included, starts a new one
// (which also rules out fixation), so it is the session's start.
func AuthTime(s store.Session) time.Time { return s.CreatedAt }

// MethodLabel says a sign-in method (Method) in words: password,
// passkey, or single sign-on with the display name of provider idp
// (providerName may be nil), translated with t. The account page and the
// admin panel both list sessions with it.
func MethodLabel(t func(key string) string, method, idp string, providerName func(id string) string) string {
	switch method {
	case MethodPassword:
		return t("account.method.password")
	case MethodPasskey:
		return t("account.method.passkey")
	case MethodSSO:
		name := ""
		if providerName != nil {
			name = providerName(idp)
		}
		if name == "" {
			name = idp
		}
		return strings.ReplaceAll(t("account.method.sso"), "{provider}", name)
	}
	return t("account.method.unknown")
}
