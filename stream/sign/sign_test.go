package sign

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestSigner(t *testing.T, id string) *Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifierOf(t *testing.T, signers ...*Signer) *Verifier {
	t.Helper()
	var keys []PublicKey
	for _, s := range signers {
		keys = append(keys, PublicKey{ID: s.KeyID(), Key: s.PublicKey()})
	}
	v, err := NewVerifier(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyHeaders(t *testing.T) {
	a, b := newTestSigner(t, "a"), newTestSigner(t, "b")
	v := verifierOf(t, a)
	value := []byte(`{"specversion":"1.0","id":"esc-000000000000000000000001"}`)
	tampered := append([]byte{}, value...)
	tampered[len(tampered)-3] ^= 0x01
	sig := a.Sign(value)
	raw, _ := base64.StdEncoding.DecodeString(sig)
	h := func(kv ...string) []Header {
		var out []Header
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		value   []byte
		headers []Header
		want    error
		text    string
	}{
		{"signed", value, a.Headers(value), nil, ""},
		{"other headers around", value, append(append(h("content-type", "x"), a.Headers(value)...), h("ce_id", "y")...), nil, ""},
		{"one byte changed", tampered, a.Headers(value), ErrMismatch, "under key a"},
		{"signed by another key under a's id", value, h(HeaderSignature, b.Sign(value), HeaderKeyID, "a"), ErrMismatch, ""},
		{"unknown key id", value, b.Headers(value), ErrUnknownKey, "unknown key id b (known: a)"},
		{"unsigned", value, h("content-type", "x"), ErrUnsigned, "no casus.signature header"},
		{"no key id", value, h(HeaderSignature, sig), ErrBadSignature, "no casus.signature.key"},
		{"empty key id", value, h(HeaderSignature, sig, HeaderKeyID, ""), ErrBadSignature, "no casus.signature.key"},
		{"not base64", value, h(HeaderSignature, "!!!", HeaderKeyID, "a"), ErrBadSignature, "not standard base64"},
		{"url base64", value, h(HeaderSignature, base64.URLEncoding.EncodeToString(raw[:63]), HeaderKeyID, "a"), ErrBadSignature, ""},
		{"unpadded", value, h(HeaderSignature, strings.TrimRight(sig, "="), HeaderKeyID, "a"), ErrBadSignature, "not standard base64"},
		{"63 bytes", value, h(HeaderSignature, base64.StdEncoding.EncodeToString(raw[:63]), HeaderKeyID, "a"), ErrBadSignature, "63 bytes, want 64"},
		{"two signatures", value, append(a.Headers(value), h(HeaderSignature, sig)...), ErrBadSignature, "2 casus.signature"},
		{"two key ids", value, append(a.Headers(value), h(HeaderKeyID, "a")...), ErrBadSignature, "want one of each"},
		{"odd key id is quoted", value, h(HeaderSignature, sig, HeaderKeyID, "x\ny"), ErrUnknownKey, `"x\ny"`},
		{"empty value signed", []byte{}, a.Headers(nil), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyHeaders(tc.value, tc.headers)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q lacks %q", err, tc.text)
			}
		})
	}
}

// Rotation: verifiers that know both keys accept records of both; once the
// old key is dropped, its records name an unknown key.
func TestRotation(t *testing.T) {
	old, cur := newTestSigner(t, ""), newTestSigner(t, "")
	if old.KeyID() == cur.KeyID() {
		t.Fatal("two keys derived the same id")
	}
	v1, v2 := []byte(`{"id":"esc-old"}`), []byte(`{"id":"esc-new"}`)
	both := verifierOf(t, cur, old)
	for _, r := range []struct {
		s *Signer
		v []byte
	}{{old, v1}, {cur, v2}} {
		id, err := both.VerifyHeaders(r.v, r.s.Headers(r.v))
		if err != nil || id != r.s.KeyID() {
			t.Errorf("record of %s: id %s, %v", r.s.KeyID(), id, err)
		}
	}
	if ids := both.KeyIDs(); len(ids) != 2 || ids[0] > ids[1] {
		t.Errorf("KeyIDs %v, want both sorted", ids)
	}
	only := verifierOf(t, cur)
	if _, err := only.VerifyHeaders(v1, old.Headers(v1)); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), cur.KeyID()) {
		t.Errorf("old record after the old key was dropped: %v", err)
	}
}

func TestNewSignerAndVerifier(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if s, err := NewSigner(priv, ""); err != nil || s.KeyID() != KeyID(priv.Public().(ed25519.PublicKey)) {
		t.Errorf("derived id: %v", err)
	}
	if s, err := NewSigner(priv, "prod-2"); err != nil || s.KeyID() != "prod-2" {
		t.Errorf("given id: %v", err)
	}
	if _, err := NewSigner(priv, "a=b"); err == nil {
		t.Error("invalid id accepted")
	}
	if _, err := NewSigner(priv[:10], ""); err == nil {
		t.Error("short key accepted")
	}
	pub := priv.Public().(ed25519.PublicKey)
	for _, tc := range []struct {
		keys []PublicKey
		want string
	}{
		{nil, "no public key"},
		{[]PublicKey{{ID: "a", Key: pub}, {ID: "a", Key: pub}}, "given twice"},
		{[]PublicKey{{ID: "a", Key: pub[:5]}}, "5 bytes"},
		{[]PublicKey{{ID: "", Key: pub}}, "key id"},
	} {
		if _, err := NewVerifier(tc.keys...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewVerifier(%d keys): %v, want %q", len(tc.keys), err, tc.want)
		}
	}
	if _, err := NewVerifier(PublicKey{ID: "a", Key: pub}, PublicKey{ID: "b", Key: pub}); err != nil {
		t.Errorf("two ids of one key: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if n := testutil.CollectAndCount(m.KeyInfo); n != 0 {
		t.Errorf("%d series before a key is used, want none", n)
	}
	a, b := newTestSigner(t, "a"), newTestSigner(t, "b")
	m.Use(a)
	m.Use(b)
	if n := testutil.CollectAndCount(reg, "casus_signing_key_info"); n != 1 {
		t.Errorf("%d series after a rotation, want 1", n)
	}
	if v := testutil.ToFloat64(m.KeyInfo.WithLabelValues("b")); v != 1 {
		t.Errorf("key b: %v", v)
	}
	NewMetrics(nil).Use(a) // unregistered, must not panic
}
