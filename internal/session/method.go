package session

import (
	"slices"

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
