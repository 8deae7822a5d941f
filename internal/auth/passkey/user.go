package passkey

import (
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/internal/store"
)

// user adapts an account and its passkeys to the library. The user handle
// is the account's stable id: opaque, never an email that could change.
type user struct {
	acct  store.Account
	creds []store.Credential
}

func (u user) WebAuthnID() []byte { return []byte(u.acct.ID) }
func (u user) WebAuthnName() string {
	return u.acct.Email
}
func (u user) WebAuthnDisplayName() string {
	if n := u.acct.FirstName + " " + u.acct.LastName; len(n) > 1 {
		return n
	}
	return u.acct.Email
}

func (u user) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.creds))
	for _, c := range u.creds {
		out = append(out, toLibrary(c))
	}
	return out
}

func (u user) find(id []byte) (store.Credential, bool) {
	for _, c := range u.creds {
		if string(c.ID) == string(id) {
			return c, true
		}
	}
	return store.Credential{}, false
}

func (u user) exclusions() []protocol.CredentialDescriptor {
	creds := u.WebAuthnCredentials()
	return webauthn.Credentials(creds).CredentialDescriptors()
}

func toLibrary(c store.Credential) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, 0, len(c.Transports))
	for _, t := range c.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID:              c.ID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		Transport:       transports,
		Flags: webauthn.CredentialFlags{
			UserPresent: true, UserVerified: true,
			BackupEligible: c.BackupEligible, BackupState: c.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

func fromLibrary(c *webauthn.Credential) store.Credential {
	transports := make([]string, 0, len(c.Transport))
	for _, t := range c.Transport {
		transports = append(transports, string(t))
	}
	return store.Credential{
		ID:              c.ID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		AAGUID:          c.Authenticator.AAGUID,
		SignCount:       c.Authenticator.SignCount,
		Transports:      transports,
		BackupEligible:  c.Flags.BackupEligible,
		BackupState:     c.Flags.BackupState,
	}
}
