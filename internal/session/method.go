package session

import (
	"slices"
	"strings"

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
