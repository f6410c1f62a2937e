package sign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyKey puts a testdata key in a temporary file of the given mode:
// files in the repository do not keep a private key's mode.
func copyKey(t *testing.T, name string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, readTestdata(t, name), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// A key openssl made reads, derives the id openssl's own digest gives, and
// signs exactly as openssl does (Ed25519 is deterministic).
func TestOpenSSLGolden(t *testing.T) {
	priv, err := ParsePrivateKey(readTestdata(t, "openssl.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(readTestdata(t, "openssl.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("openssl.pub is not the public key of openssl.key")
	}
	if got, want := KeyID(pub), string(readTestdata(t, "openssl.keyid")); got != want {
		t.Errorf("derived key id %s, openssl's digest gives %s", got, want)
	}
	s, err := NewSigner(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	msg, sig := readTestdata(t, "message.json"), strings.TrimSpace(string(readTestdata(t, "message.sig")))
	if got := s.Sign(msg); got != sig {
		t.Errorf("signature %s, openssl pkeyutl made %s", got, sig)
	}
	v, err := NewVerifier(PublicKey{ID: KeyID(pub), Key: pub})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(msg, KeyID(pub), sig); err != nil {
		t.Errorf("openssl's signature does not verify: %v", err)
	}
	// The file loads through the permission check when it is private.
	if _, err := LoadSigner(copyKey(t, "openssl.key", 0o600), ""); err != nil {
		t.Error(err)
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	key := readTestdata(t, "openssl.key")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no PEM block"},
		{"not pem", []byte("hello"), "no PEM block"},
		{"rsa", readTestdata(t, "rsa.key"), "RSA key: want Ed25519"},
		{"ecdsa", readTestdata(t, "ec.key"), "ECDSA key: want Ed25519"},
		{"ed448", readTestdata(t, "ed448.key"), "not a PKCS #8 Ed25519 key"},
		{"encrypted pkcs8", readTestdata(t, "encrypted.key"), "encrypted"},
		{"legacy encrypted", []byte("-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END PRIVATE KEY-----\n"), "encrypted"},
		{"public", readTestdata(t, "openssl.pub"), "public key"},
		{"openssh", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), "OpenSSH"},
		{"two blocks", append(append([]byte{}, key...), key...), "more than one PEM block"},
		{"text after", append(append([]byte{}, key...), "junk\n"...), "text after"},
		{"text before", append([]byte("junk\n"), key...), "text before"},
		{"truncated", key[:len(key)-20], "malformed PEM"},
		{"bad der", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "not a PKCS #8"},
		{"certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), `want "PRIVATE KEY"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// Whitespace around the block is fine.
	if _, err := ParsePrivateKey(append(append([]byte("\n  \n"), key...), "\n\n"...)); err != nil {
		t.Errorf("key with blank lines around it: %v", err)
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"private", readTestdata(t, "openssl.key"), "this is a private key"},
		{"rsa", readTestdata(t, "rsa.pub"), "RSA key: want Ed25519"},
		{"bad der", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "not a PKIX"},
		{"two blocks", bytes.Repeat(readTestdata(t, "openssl.pub"), 2), "more than one PEM block"},
		{"empty", nil, "no PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePublicKey(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A private key others can read, or anyone but the owner can write, is
// refused with the file's name; group read is allowed (Kubernetes fsGroup).
func TestLoadPrivateKeyPermissions(t *testing.T) {
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o640, true}, {0o440, true},
		{0o644, false}, {0o604, false}, {0o660, false}, {0o620, false}, {0o601, false}, {0o700, true},
	} {
		p := copyKey(t, "openssl.key", tc.mode)
		_, err := LoadPrivateKey(p)
		if tc.ok && err != nil {
			t.Errorf("mode %04o: %v", tc.mode, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "chmod 600")) {
			t.Errorf("mode %04o: error %v, want a refusal naming %s", tc.mode, err, p)
		}
	}
	// The public key has no such rule.
	if _, err := LoadPublicKey(copyKey(t, "openssl.pub", 0o644)); err != nil {
		t.Error(err)
	}
	dir := t.TempDir()
	if _, err := LoadPrivateKey(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	missing := filepath.Join(dir, "nope.key")
	if _, err := LoadPrivateKey(missing); err == nil || !strings.Contains(err.Error(), missing) || strings.Count(err.Error(), missing) != 1 {
		t.Errorf("missing file: %v, want its name once", err)
	}
	big := filepath.Join(dir, "big.key")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), maxKeyFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(big); err == nil || !strings.Contains(err.Error(), "not a key file") {
		t.Errorf("large file: %v", err)
	}
}

func TestWriteKeyPair(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "casus")
	kp, err := WriteKeyPair(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if kp.PrivatePath != prefix+".key" || kp.PublicPath != prefix+".pub" {
		t.Errorf("paths %+v", kp)
	}
	st, err := os.Stat(kp.PrivatePath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %04o, want 0600", st.Mode().Perm())
	}
	s, err := LoadSigner(kp.PrivatePath, "")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := LoadKeySpec(kp.PublicPath)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != kp.ID || pk.ID != kp.ID || !pk.Key.Equal(s.PublicKey()) {
		t.Errorf("ids: signer %s, public %s, keygen %s", s.KeyID(), pk.ID, kp.ID)
	}
	v, err := NewVerifier(pk)
	if err != nil {
		t.Fatal(err)
	}
	value := []byte(`{"id":"esc-1"}`)
	if _, err := v.VerifyHeaders(value, s.Headers(value)); err != nil {
		t.Errorf("round trip: %v", err)
	}

	// Never overwrites, and a refusal leaves what was there alone.
	before := readFile(t, kp.PrivatePath)
	if _, err := WriteKeyPair(prefix); err == nil || !strings.Contains(err.Error(), "does not overwrite") {
		t.Errorf("second keygen: %v", err)
	}
	if !bytes.Equal(before, readFile(t, kp.PrivatePath)) {
		t.Error("the private key was overwritten")
	}
	// Only the public file exists: nothing is written.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other+".pub", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteKeyPair(other); err == nil {
		t.Error("keygen over an existing .pub succeeded")
	}
	if _, err := os.Stat(other + ".key"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused keygen left %s.key behind (%v)", other, err)
	}
	if _, err := WriteKeyPair(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil || !strings.Contains(err.Error(), "create") {
		t.Errorf("keygen into a missing directory: %v", err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadKeySpec(t *testing.T) {
	pub := copyKey(t, "openssl.pub", 0o644)
	derived := string(readTestdata(t, "openssl.keyid"))
	for _, tc := range []struct {
		spec, id, err string
	}{
		{pub, derived, ""},
		{"prod-2026=" + pub, "prod-2026", ""},
		{"=" + pub, "", "want 1 to"},
		{"bad id=" + pub, "", "only letters"},
		{"k1=", "", "no file"},
		{"k1=" + pub + ".missing", "", "no such file"},
	} {
		k, err := LoadKeySpec(tc.spec)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.spec, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.spec, err)
		case tc.err == "" && k.ID != tc.id:
			t.Errorf("%s: id %s, want %s", tc.spec, k.ID, tc.id)
		}
	}
}

func TestValidKeyID(t *testing.T) {
	for id, ok := range map[string]bool{
		"ed25519-0123456789abcdef": true, "prod:2026-01_a.b": true, strings.Repeat("a", 128): true,
		"": false, strings.Repeat("a", 129): false, "a=b": false, "a b": false, "é": false, "a\n": false,
	} {
		if err := ValidKeyID(id); (err == nil) != ok {
			t.Errorf("ValidKeyID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	if id := KeyID(pub); ValidKeyID(id) != nil || len(id) != len("ed25519-")+16 {
		t.Errorf("derived id %q", id)
	}
}
