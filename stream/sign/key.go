package sign

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// PEM block types of the key files.
const (
	PrivateKeyBlock = "PRIVATE KEY"
	PublicKeyBlock  = "PUBLIC KEY"
)

// maxKeyFile bounds what is read of a key file: an Ed25519 key in PEM is
// about 120 bytes, so anything much larger is the wrong file.
const maxKeyFile = 64 << 10

// maxKeyID bounds a key id; it travels in every record's headers.
const maxKeyID = 128

// unsafeKeyPerm are the permission bits a private key file must not have:
// any access for others, and write or execute for the group. Group read
// is allowed because Kubernetes secret volumes mounted with an fsGroup are
// group-readable (0440) whatever their defaultMode.
const unsafeKeyPerm fs.FileMode = 0o037

// KeyID derives the id of a public key: "ed25519-" and the first 16 hex
// digits of the SHA-256 of its 32 raw bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519-" + hex.EncodeToString(sum[:8])
}

// ValidKeyID reports whether id can name a key: 1 to 128 ASCII letters,
// digits and . _ : - (no "=", which separates an id from a path in a key
// spec, and nothing a header or a log line would need to escape).
func ValidKeyID(id string) error {
	if id == "" || len(id) > maxKeyID {
		return fmt.Errorf("key id %.140q: want 1 to %d characters", id, maxKeyID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("key id %q: only letters, digits and . _ : - are allowed", id)
		}
	}
	return nil
}

// ParsePrivateKey reads an Ed25519 private key from one unencrypted PEM
// "PRIVATE KEY" (PKCS #8) block, nothing else in the data but whitespace.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	b, err := onePEMBlock(data)
	if err != nil {
		return nil, err
	}
	switch b.Type {
	case PrivateKeyBlock:
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the key is encrypted: casus reads unencrypted PKCS #8 keys and relies on the file's permissions (openssl pkey -in KEY -out PLAIN decrypts it)")
	case PublicKeyBlock:
		return nil, errors.New("this is a public key: signing needs the private key")
	case "OPENSSH PRIVATE KEY":
		return nil, errors.New("this is an OpenSSH key: want a PEM PKCS #8 key (casus keygen or openssl genpkey -algorithm ed25519 writes one)")
	default:
		return nil, fmt.Errorf("PEM block %q: want %q (PKCS #8 Ed25519)", b.Type, PrivateKeyBlock)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 Ed25519 key: %w", err)
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%s key: want Ed25519", algorithm(k))
	}
}

// ParsePublicKey reads an Ed25519 public key from one PEM "PUBLIC KEY"
// (PKIX) block, nothing else in the data but whitespace.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	b, err := onePEMBlock(data)
	if err != nil {
		return nil, err
	}
	switch b.Type {
	case PublicKeyBlock:
	case PrivateKeyBlock, "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		return nil, errors.New("this is a private key: give verifiers the public key only (casus keygen writes PREFIX.pub; openssl pkey -in KEY -pubout prints it)")
	default:
		return nil, fmt.Errorf("PEM block %q: want %q (PKIX Ed25519)", b.Type, PublicKeyBlock)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX Ed25519 public key: %w", err)
	}
	switch k := k.(type) {
	case ed25519.PublicKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%s key: want Ed25519", algorithm(k))
	}
}

func algorithm(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "ECDH (X25519)"
	}
	return fmt.Sprintf("%T", k)
}

// onePEMBlock decodes the only PEM block of data. Text around it, a second
// block and PEM headers (legacy encryption) are refused rather than
// skipped, so that a file holding something else is never half read.
func onePEMBlock(data []byte) (*pem.Block, error) {
	i := bytes.Index(data, []byte("-----BEGIN "))
	if i < 0 {
		return nil, errors.New("no PEM block")
	}
	if len(bytes.TrimSpace(data[:i])) > 0 {
		return nil, errors.New("text before the PEM block")
	}
	b, rest := pem.Decode(data[i:])
	if b == nil {
		return nil, errors.New("malformed PEM block")
	}
	if len(b.Headers) > 0 {
		if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, errors.New("the key is encrypted: casus reads unencrypted PKCS #8 keys and relies on the file's permissions")
		}
		return nil, errors.New("PEM headers are not allowed")
	}
	if rest = bytes.TrimSpace(rest); len(rest) > 0 {
		if bytes.Contains(rest, []byte("-----BEGIN ")) {
			return nil, errors.New("more than one PEM block: want exactly one key")
		}
		return nil, errors.New("text after the PEM block")
	}
	return b, nil
}

// readKeyFile reads a key file of at most maxKeyFile bytes; private ones
// must not be open to others (unsafeKeyPerm).
func readKeyFile(path string, private bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	if p := st.Mode().Perm(); private && p&unsafeKeyPerm != 0 {
		return nil, fmt.Errorf("mode %04o lets others read or write the private key: chmod 600 it (group read, 0640, is allowed)", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d KiB: not a key file", maxKeyFile>>10)
	}
	return data, nil
}

// LoadPrivateKey reads an Ed25519 private key file (ParsePrivateKey). The
// file must be a regular file that neither others nor the group can write
// and others cannot read.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path, true)
	if err == nil {
		var k ed25519.PrivateKey
		if k, err = ParsePrivateKey(data); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("signing key %s: %w", path, unwrapPath(err))
}

// LoadPublicKey reads an Ed25519 public key file (ParsePublicKey).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := readKeyFile(path, false)
	if err == nil {
		var k ed25519.PublicKey
		if k, err = ParsePublicKey(data); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("public key %s: %w", path, unwrapPath(err))
}

// unwrapPath drops the *fs.PathError's own copy of the path, which the
// callers' messages already name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// PublicKey is a verifier's key and the id records name it by.
type PublicKey struct {
	ID  string
	Key ed25519.PublicKey
}

// LoadKeySpec reads a public key given as "[ID=]PATH": the id before the
// first "=", or derived from the key (KeyID) when there is none. A path
// that holds "=" needs an explicit id.
func LoadKeySpec(spec string) (PublicKey, error) {
	id, path, named := strings.Cut(spec, "=")
	if !named {
		id, path = "", spec
	}
	if path == "" {
		return PublicKey{}, fmt.Errorf("key %q: no file", spec)
	}
	if named {
		if err := ValidKeyID(id); err != nil {
			return PublicKey{}, fmt.Errorf("key %q: %w (a path holding \"=\" needs an explicit ID=)", spec, err)
		}
	}
	k, err := LoadPublicKey(path)
	if err != nil {
		return PublicKey{}, err
	}
	if id == "" {
		id = KeyID(k)
	}
	return PublicKey{ID: id, Key: k}, nil
}

// KeyPair names the files WriteKeyPair wrote.
type KeyPair struct {
	ID                      string
	PrivatePath, PublicPath string
}

// WriteKeyPair generates an Ed25519 key and writes it as prefix+".key"
// (PKCS #8, mode 0600) and prefix+".pub" (PKIX, mode 0644). It refuses to
// overwrite either file, and leaves neither behind when it fails.
func WriteKeyPair(prefix string) (KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key: %w", err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode private key: %w", err)
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode public key: %w", err)
	}
	kp := KeyPair{ID: KeyID(pub), PrivatePath: prefix + ".key", PublicPath: prefix + ".pub"}
	files := []struct {
		path  string
		mode  fs.FileMode
		block *pem.Block
	}{
		{kp.PrivatePath, 0o600, &pem.Block{Type: PrivateKeyBlock, Bytes: p8}},
		{kp.PublicPath, 0o644, &pem.Block{Type: PublicKeyBlock, Bytes: pk}},
	}
	var written []string
	fail := func(err error) (KeyPair, error) {
		for _, p := range written {
			_ = os.Remove(p)
		}
		return KeyPair{}, err
	}
	for _, f := range files {
		// O_EXCL: an existing key is never replaced, not even by a race.
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fail(fmt.Errorf("%s exists: casus keygen does not overwrite keys", f.path))
			}
			return fail(fmt.Errorf("create %s: %w", f.path, unwrapPath(err)))
		}
		written = append(written, f.path)
		err = pem.Encode(fh, f.block)
		if err == nil {
			err = fh.Sync()
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(fmt.Errorf("write %s: %w", f.path, err))
		}
	}
	return kp, nil
}
