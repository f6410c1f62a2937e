package sign

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Header names on every signed record.
const (
	// HeaderSignature holds the standard base64 (with padding) of the
	// 64-byte Ed25519 signature of the record's value.
	HeaderSignature = "casus.signature"
	// HeaderKeyID names the key that made the signature.
	HeaderKeyID = "casus.signature.key"
)

// Header is a record header. It has the shape of kafka-go's Header, so
// either converts to the other.
type Header struct {
	Key   string
	Value []byte
}

// Signer signs record values with one private key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner signs with key under id; an empty id is derived from the
// public key (KeyID).
func NewSigner(key ed25519.PrivateKey, id string) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private key of %d bytes: want %d", len(key), ed25519.PrivateKeySize)
	}
	if id == "" {
		id = KeyID(key.Public().(ed25519.PublicKey))
	} else if err := ValidKeyID(id); err != nil {
		return nil, err
	}
	return &Signer{key: key, id: id}, nil
}

// LoadSigner reads the private key file at path (LoadPrivateKey) and signs
// under id, or the derived id when id is empty.
func LoadSigner(path, id string) (*Signer, error) {
	k, err := LoadPrivateKey(path)
	if err != nil {
		return nil, err
	}
	s, err := NewSigner(k, id)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return s, nil
}

// KeyID is the id the signer's records carry.
func (s *Signer) KeyID() string { return s.id }

// PublicKey is the key verifiers need.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign returns the base64 signature of value, as HeaderSignature carries it.
func (s *Signer) Sign(value []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, value))
}

// Headers are the two headers a record with this value carries.
func (s *Signer) Headers(value []byte) []Header {
	return []Header{
		{Key: HeaderSignature, Value: []byte(s.Sign(value))},
		{Key: HeaderKeyID, Value: []byte(s.id)},
	}
}

// Verifier checks signatures against a set of public keys, by key id.
type Verifier struct {
	keys map[string]ed25519.PublicKey
}

// NewVerifier verifies with keys. Ids must be distinct; two ids may name
// the same key.
func NewVerifier(keys ...PublicKey) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("no public key")
	}
	v := &Verifier{keys: map[string]ed25519.PublicKey{}}
	for _, k := range keys {
		if err := ValidKeyID(k.ID); err != nil {
			return nil, err
		}
		if len(k.Key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key %s: public key of %d bytes, want %d", k.ID, len(k.Key), ed25519.PublicKeySize)
		}
		if _, dup := v.keys[k.ID]; dup {
			return nil, fmt.Errorf("key id %s given twice", k.ID)
		}
		v.keys[k.ID] = k.Key
	}
	return v, nil
}

// LoadVerifier reads the public keys of specs, each "[ID=]PATH" (LoadKeySpec).
func LoadVerifier(specs []string) (*Verifier, error) {
	var keys []PublicKey
	for _, s := range specs {
		k, err := LoadKeySpec(s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return NewVerifier(keys...)
}

// KeyIDs are the ids the verifier knows, sorted.
func (v *Verifier) KeyIDs() []string {
	ids := make([]string, 0, len(v.keys))
	for id := range v.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Verify checks signature (as HeaderSignature carries it) of value under
// the key named keyID. The error wraps ErrUnknownKey, ErrBadSignature or
// ErrMismatch.
func (v *Verifier) Verify(value []byte, keyID, signature string) error {
	pub, ok := v.keys[keyID]
	if !ok {
		return fmt.Errorf("%w %s (known: %s)", ErrUnknownKey, quoteIfOdd(keyID), strings.Join(v.KeyIDs(), ", "))
	}
	// Strict: one encoding per signature, padding and all.
	sig, err := base64.StdEncoding.Strict().DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: %s is not standard base64: %v", ErrBadSignature, HeaderSignature, err)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s holds %d bytes, want %d", ErrBadSignature, HeaderSignature, len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, value, sig) {
		return fmt.Errorf("%w under key %s", ErrMismatch, keyID)
	}
	return nil
}

// VerifyHeaders finds the signature headers among headers and verifies
// value with them. It returns the key id the record names, when it names
// one. Each header must appear at most once: a repeated one is ambiguous.
func (v *Verifier) VerifyHeaders(value []byte, headers []Header) (keyID string, err error) {
	var sig, id []byte
	var nSig, nID int
	for _, h := range headers {
		switch h.Key {
		case HeaderSignature:
			sig, nSig = h.Value, nSig+1
		case HeaderKeyID:
			id, nID = h.Value, nID+1
		}
	}
	switch {
	case nSig == 0:
		return "", ErrUnsigned
	case nSig > 1 || nID > 1:
		return "", fmt.Errorf("%w: %d %s and %d %s headers, want one of each", ErrBadSignature, nSig, HeaderSignature, nID, HeaderKeyID)
	case nID == 0 || len(id) == 0:
		return "", fmt.Errorf("%w: signed, but no %s header names the key", ErrBadSignature, HeaderKeyID)
	}
	return string(id), v.Verify(value, string(id), string(sig))
}

// quoteIfOdd quotes s when it is not a plain key id, so that a header
// value cannot forge output.
func quoteIfOdd(s string) string {
	if ValidKeyID(s) == nil {
		return s
	}
	if len(s) > maxKeyID {
		return fmt.Sprintf("%.130q…", s)
	}
	return fmt.Sprintf("%q", s)
}
