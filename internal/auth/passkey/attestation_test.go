package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// testCA makes a root and an attestation certificate it signed, valid
// around now.
func testCA(t *testing.T, name string, now time.Time) (*x509.Certificate, []byte) {
	t.Helper()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " attestation"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return root, leafDER
}

func TestWorkstationAttestationAllowList(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	vendorRoot, vendorLeaf := testCA(t, "Vendor", now)
	_, rogueLeaf := testCA(t, "Rogue", now) // a software authenticator's own CA
	allowed, err := ParseAAGUID("cb69481e-8ff7-4039-93ec-0a2729a154a8")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ParseAAGUID("ee882879721c491397753dfcce97072a")
	roots := x509.NewCertPool()
	roots.AddCert(vendorRoot)
	p := &AttestationPolicy{AAGUIDs: [][]byte{allowed}, Roots: roots}

	for _, tc := range []struct {
		name   string
		format string
		stmt   map[string]any
		aaguid []byte
		now    time.Time
		ok     bool
	}{
		{"allowed model, vendor certificate", "packed", map[string]any{"x5c": []any{vendorLeaf}}, allowed, now, true},
		{"model off the list", "packed", map[string]any{"x5c": []any{vendorLeaf}}, other, now, false},
		{"no attestation", "none", map[string]any{}, allowed, now, false},
		{"self attestation (no certificate)", "packed", map[string]any{"alg": -7}, allowed, now, false},
		{"certificate from an unknown root", "packed", map[string]any{"x5c": []any{rogueLeaf}}, allowed, now, false},
		{"expired certificate", "packed", map[string]any{"x5c": []any{vendorLeaf}}, allowed, now.Add(2 * time.Hour), false},
		{"garbage certificate", "packed", map[string]any{"x5c": []any{[]byte("not DER")}}, allowed, now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.check(tc.format, tc.stmt, tc.aaguid, tc.now)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrAttestation) {
				t.Fatalf("check = %v, want ErrAttestation", err)
			}
		})
	}
	for _, bad := range []string{"", "cb69481e-8ff7-4039-93ec", "zz69481e-8ff7-4039-93ec-0a2729a154a8", "cb69481e8ff7-4039-93ec-0a2729a154a8-"} {
		if _, err := ParseAAGUID(bad); err == nil {
			t.Errorf("ParseAAGUID(%q) accepted", bad)
		}
	}
}
