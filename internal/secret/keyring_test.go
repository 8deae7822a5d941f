package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestKeyringSealOpen(t *testing.T) {
	k, err := NewKeyring(key(1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal("client-secret-value", "corp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "client-secret-value") {
		t.Fatal("the sealed value shows the secret")
	}
	if id, _ := SealedKeyID(sealed); id != k.CurrentID() || id != KeyID(key(1)) {
		t.Fatalf("sealed under %q, want %q", id, k.CurrentID())
	}
	got, err := k.Open(sealed, "corp")
	if err != nil || got != "client-secret-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := k.Seal("client-secret-value", "corp")
	if again == sealed {
		t.Fatal("two seals of one value are identical: the nonce is not fresh")
	}
}

func TestKeyringTampering(t *testing.T) {
	k, _ := NewKeyring(key(1), nil, nil)
	sealed, _ := k.Seal("s3cret", "corp")
	id, _ := SealedKeyID(sealed)
	raw, _ := base64.RawURLEncoding.DecodeString(sealed[len("v1:")+len(id)+1:])
	for i := range raw {
		flipped := bytes.Clone(raw)
		flipped[i] ^= 0x01
		bad := "v1:" + id + ":" + base64.RawURLEncoding.EncodeToString(flipped)
		if _, err := k.Open(bad, "corp"); !errors.Is(err, ErrTampered) {
			t.Fatalf("byte %d flipped: Open err = %v, want ErrTampered", i, err)
		}
	}
	// A value moved onto another record does not open there.
	if _, err := k.Open(sealed, "other"); !errors.Is(err, ErrTampered) {
		t.Fatalf("other context: %v", err)
	}
	for _, bad := range []string{"", "s3cret", "v1:zz:abc", "v2:" + id + ":" + sealed[len(id)+4:], "v1:" + id + ":!!", "v1:" + id + ":AAAA"} {
		if _, err := k.Open(bad, "corp"); err == nil {
			t.Fatalf("Open(%q) succeeded", bad)
		}
	}
}

func TestKeyringWrongKeyID(t *testing.T) {
	k1, _ := NewKeyring(key(1), nil, nil)
	k2, _ := NewKeyring(key(2), nil, nil)
	sealed, _ := k1.Seal("s3cret", "corp")
	if _, err := k2.Open(sealed, "corp"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Open with another keyring: %v, want ErrNoKey", err)
	}
	// Relabelled with k2's id, it is sealed under the wrong key: refused.
	relabelled := strings.Replace(sealed, k1.CurrentID(), k2.CurrentID(), 1)
	if _, err := k2.Open(relabelled, "corp"); !errors.Is(err, ErrTampered) {
		t.Fatalf("relabelled: %v, want ErrTampered", err)
	}
}

func TestKeyringRotation(t *testing.T) {
	old, _ := NewKeyring(key(1), nil, nil)
	sealed, _ := old.Seal("s3cret", "corp")
	rotated, err := NewKeyring(key(2), [][]byte{key(1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, "corp"); err != nil || got != "s3cret" {
		t.Fatalf("previous key: %q, %v", got, err)
	}
	resealed, _ := rotated.Seal("s3cret", "corp")
	if id, _ := SealedKeyID(resealed); id != KeyID(key(2)) {
		t.Fatalf("resealed under %s", id)
	}
	// Once the old key is dropped, only the resealed value opens.
	newOnly, _ := NewKeyring(key(2), nil, nil)
	if _, err := newOnly.Open(sealed, "corp"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("old value with the old key dropped: %v", err)
	}
	if got, err := newOnly.Open(resealed, "corp"); err != nil || got != "s3cret" {
		t.Fatalf("resealed: %q, %v", got, err)
	}
}

func TestParseKey(t *testing.T) {
	k := key(7)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k),
		"0707070707070707070707070707070707070707070707070707070707070707", " " + base64.StdEncoding.EncodeToString(k) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(key(1)[:16])} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	if _, err := NewKeyring(key(1)[:16], nil, nil); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}
