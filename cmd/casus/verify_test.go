package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casus-sec/casus/stream/sign"
)

func TestKeygenAndVerifyExitCodes(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "esc")
	var out, errw bytes.Buffer
	if code := run([]string{"keygen", "-out", prefix}, &out, &errw); code != exitOK {
		t.Fatalf("keygen exit %d: %s", code, errw.String())
	}
	id := strings.TrimSpace(out.String())
	if !strings.HasPrefix(id, "ed25519-") || !strings.Contains(errw.String(), prefix+".key") {
		t.Fatalf("keygen printed %q, %q", id, errw.String())
	}
	signer, err := sign.LoadSigner(prefix+".key", "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, values ...string) string {
		var b bytes.Buffer
		for i, v := range values {
			r := sign.Record{Topic: "casus.escalations", Partition: 0, Offset: int64(i), Value: []byte(v), Headers: signer.Headers([]byte(v))}
			if strings.HasPrefix(v, "tamper:") {
				r.Value = []byte(strings.TrimPrefix(v, "tamper:"))
			}
			line, err := sign.MarshalRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(append(line, '\n'))
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.ndjson", `{"id":"esc-a"}`, `{"id":"esc-b"}`)
	bad := write("bad.ndjson", `{"id":"esc-a"}`, `tamper:{"id":"esc-c"}`)
	empty := write("empty.ndjson")
	pub := prefix + ".pub"
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"verified", []string{"verify", "-key", pub, good}, exitOK, "ok casus.escalations/0@1 id=esc-b key=" + id, "2 records, 2 verified, 0 failed"},
		{"several keys", []string{"verify", "-key", "other=" + pub, "-key", pub, good}, exitOK, "key=" + id, "keys: " + id + ", other"},
		{"tampered", []string{"verify", "-key", pub, bad}, exitFailure, "FAIL line 2: casus.escalations/0@1: signature does not match", "1 failed"},
		{"wrong id", []string{"verify", "-key", "k2=" + pub, good}, exitFailure, "unknown key id " + id + " (known: k2)", "2 failed"},
		{"no records", []string{"verify", "-key", pub, empty}, exitFailure, "", "no records"},
		{"no key", []string{"verify", good}, exitUsage, "", "usage: casus verify"},
		{"private key given", []string{"verify", "-key", prefix + ".key", good}, exitUsage, "", "this is a private key"},
		{"missing key", []string{"verify", "-key", filepath.Join(dir, "nope.pub"), good}, exitUsage, "", "nope.pub"},
		{"missing input", []string{"verify", "-key", pub, filepath.Join(dir, "nope.ndjson")}, exitUsage, "", "no such file"},
		{"two inputs", []string{"verify", "-key", pub, good, good}, exitUsage, "", "usage: casus verify"},
		{"keygen never overwrites", []string{"keygen", "-out", prefix}, exitFailure, "", "does not overwrite"},
		{"keygen needs -out", []string{"keygen"}, exitUsage, "", "usage: casus keygen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			code := run(tc.args, &out, &errw)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errw.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if !strings.Contains(errw.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errw.String())
			}
		})
	}
}
