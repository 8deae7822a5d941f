package passkey

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ErrAttestation: workstation enrolment requires an attested authenticator
// of an allowed model, and this one is not (no attestation, a model off
// the list, or a certificate no configured root vouches for).
var ErrAttestation = errors.New("passkey: authenticator model not allowed for a workstation")

// AttestationPolicy restricts workstation enrolment to authenticator
// models, named by AAGUID, whose attestation certificate chains to one of
// Roots. The authenticator's own "device-bound" flag is only its claim; a
// software authenticator can make it. An attestation signed by a key the
// vendor certified is evidence of the model. go-webauthn verifies the
// attestation statement itself (its signature over the new credential and
// the AAGUID in the certificate); this adds what it leaves to the relying
// party: which models, and which roots, to trust.
type AttestationPolicy struct {
	AAGUIDs [][]byte // 16 bytes each
	Roots   *x509.CertPool
}

var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ParseAAGUID reads an AAGUID in its usual UUID form
// ("cb69481e-8ff7-4039-93ec-0a2729a154a8") or as 32 hex digits.
func ParseAAGUID(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 || (strings.Contains(s, "-") && !uuidShape.MatchString(s)) {
		return nil, fmt.Errorf("%q is not an AAGUID (a UUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8)", s)
	}
	return b, nil
}

// check judges a verified registration: its attestation format, its
// statement (as the authenticator sent it) and the AAGUID of its
// authenticator data.
func (p *AttestationPolicy) check(format string, stmt map[string]any, aaguid []byte, now time.Time) error {
	allowed := false
	for _, a := range p.AAGUIDs {
		if bytes.Equal(a, aaguid) {
			allowed = true
		}
	}
	if !allowed {
		return fmt.Errorf("%w: model %x is not on the list", ErrAttestation, aaguid)
	}
	raw, _ := stmt["x5c"].([]any)
	if format == "none" || len(raw) == 0 {
		// No statement, or self attestation: nothing but the
		// authenticator vouches for its model.
		return fmt.Errorf("%w: no attestation certificate (format %q)", ErrAttestation, format)
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, c := range raw {
		der, ok := c.([]byte)
		if !ok {
			return fmt.Errorf("%w: malformed certificate", ErrAttestation)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrAttestation, err)
		}
		certs = append(certs, cert)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: p.Roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("%w: attestation certificate: %v", ErrAttestation, err)
	}
	return nil
}
