package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/casus-sec/casus/internal/app"
)

// keyFlags collects repeated -key flags.
type keyFlags []string

func (k *keyFlags) String() string { return strings.Join(*k, ",") }

func (k *keyFlags) Set(s string) error {
	if s == "" {
		return fmt.Errorf("empty key")
	}
	*k = append(*k, s)
	return nil
}

// cmdVerify checks the signatures of escalation records dumped as NDJSON.
// Exit 0 only when there was at least one record and all verified.
func cmdVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keys keyFlags
	fs.Var(&keys, "key", "public key `[ID=]FILE` (PEM); repeat for every key still in the topic's retention; the id is derived from the key when not given")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casus verify -key [ID=]PUB.pem [-key ...] [FILE|-]")
		fmt.Fprintln(stderr, "checks the Ed25519 signature of each record of the escalations topic, read as NDJSON one")
		fmt.Fprintln(stderr, "record a line: kcat -C -J output, or {\"topic\",\"partition\",\"offset\",\"headers\":{...},\"value\":...}.")
		fmt.Fprintln(stderr, "exit 0: every record verified (and there was one); 1: a record failed; 2: usage.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if len(keys) == 0 || fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	ver, err := app.LoadVerifier(keys)
	if err != nil {
		fmt.Fprintf(stderr, "casus verify: %v\n", err)
		return exitUsage
	}
	in, name := io.NopCloser(stdin), "stdin"
	if p := fs.Arg(0); p != "" && p != "-" {
		f, _, _, _, err := openInput(p)
		if err != nil {
			fmt.Fprintf(stderr, "casus verify: %v\n", err)
			return exitUsage
		}
		in, name = f, p
	}
	defer in.Close()
	sum, err := app.Verify(in, app.VerifyOptions{Verifier: ver, Stdout: stdout})
	fmt.Fprintf(stderr, "casus verify: %s: %d records, %d verified, %d failed (keys: %s)\n", name, sum.Records, sum.Verified, sum.Failed, strings.Join(ver.KeyIDs(), ", "))
	if err != nil {
		fmt.Fprintf(stderr, "casus verify: %v\n", err)
		return exitFailure
	}
	if !sum.OK() {
		if sum.Records == 0 {
			fmt.Fprintln(stderr, "casus verify: no records: nothing verified")
		}
		return exitFailure
	}
	return exitOK
}

// cmdKeygen writes a new Ed25519 signing key pair and prints its key id.
func cmdKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write `PREFIX`.key (private, mode 0600) and PREFIX.pub (public); existing files are never overwritten")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casus keygen -out PREFIX")
		fmt.Fprintln(stderr, "writes an Ed25519 key pair for CASUS_SIGNING_KEY_FILE (PREFIX.key) and casus verify (PREFIX.pub),")
		fmt.Fprintln(stderr, "and prints the key id the records will carry.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	kp, err := app.Keygen(*out)
	if err != nil {
		fmt.Fprintf(stderr, "casus keygen: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, kp.ID)
	fmt.Fprintf(stderr, "casus keygen: wrote %s (private: CASUS_SIGNING_KEY_FILE) and %s (public: casus verify -key)\n", kp.PrivatePath, kp.PublicPath)
	return exitOK
}
