package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors of a Keyring, checked with errors.Is.
var (
	// ErrNoKey: the sealed value names a key id the keyring does not hold
	// (the key was dropped from secrets.previous_keys too early).
	ErrNoKey = errors.New("secret: no key with this id")
	// ErrTampered: the sealed value does not open under its key: it was
	// altered, moved to another record, or sealed by another key that
	// happens to share the id.
	ErrTampered = errors.New("secret: sealed value altered or not for this record")
	// ErrMalformed: not something Seal produced.
	ErrMalformed = errors.New("secret: malformed sealed value")
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// sealedPrefix versions the format, so a later one can be told apart.
const sealedPrefix = "v1"

// Keyring seals secrets that Gatehouse must store (the client secrets of
// identity providers created from the admin panel) with AES-256-GCM.
//
// A key's id is derived from the key itself (the first 8 bytes of its
// SHA-256, in hex), so operators manage one value per key and never an
// id that could be paired with the wrong key. Sealing always uses the
// current key; opening uses whichever key the sealed value names, so after
// a rotation (new key in secrets.key, the old one in
// secrets.previous_keys) every stored secret still opens until
// `gatehouse secrets rotate` has sealed it again under the new key.
type Keyring struct {
	current string
	keys    map[string]cipher.AEAD
	rand    io.Reader
}

// ParseKey reads a key as given in the configuration: 32 bytes in
// standard or URL-safe base64 (with or without padding) or in hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret: a key must be %d random bytes in base64 or hex (for example `openssl rand -base64 32`)", KeySize)
}

// KeyID names key in sealed values.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("gatehouse secrets key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// NewKeyring seals with current and opens with current or any of
// previous. rnd supplies nonces (crypto/rand when nil).
func NewKeyring(current []byte, previous [][]byte, rnd io.Reader) (*Keyring, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	k := &Keyring{keys: map[string]cipher.AEAD{}, rand: rnd}
	for i, key := range append([][]byte{current}, previous...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret: key %d is %d bytes, want %d", i, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		if _, dup := k.keys[id]; !dup {
			k.keys[id] = aead
		}
	}
	return k, nil
}

// CurrentID is the id of the key Seal uses.
func (k *Keyring) CurrentID() string { return k.current }

// Seal encrypts plaintext under the current key. context binds the
// sealed value to the record it belongs to (a provider id): a value
// copied onto another record does not open there.
func (k *Keyring) Seal(plaintext, context string) (string, error) {
	aead := k.keys[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return "", fmt.Errorf("secret: reading randomness: %w", err)
	}
	ct := aead.Seal(nonce, nonce, []byte(plaintext), aad(k.current, context))
	return sealedPrefix + ":" + k.current + ":" + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open decrypts a value Seal made for the same context.
func (k *Keyring) Open(sealed, context string) (string, error) {
	id, err := SealedKeyID(sealed)
	if err != nil {
		return "", err
	}
	aead, ok := k.keys[id]
	if !ok {
		return "", fmt.Errorf("%w %s", ErrNoKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed[len(sealedPrefix)+1+len(id)+1:])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrMalformed
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad(id, context))
	if err != nil {
		return "", ErrTampered
	}
	return string(pt), nil
}

// SealedKeyID is the id of the key a sealed value was made with.
func SealedKeyID(sealed string) (string, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != sealedPrefix || len(parts[1]) != 16 {
		return "", ErrMalformed
	}
	return parts[1], nil
}

// aad authenticates the format, the key id and the record along with the
// ciphertext.
func aad(id, context string) []byte {
	return []byte(sealedPrefix + "\x00" + id + "\x00" + context)
}
