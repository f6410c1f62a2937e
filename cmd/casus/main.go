// Command casus reads security telemetry from Kafka, tells reconnaissance from
// destructive attack, correlates it into incidents, scores their severity and
// publishes escalations up to armed-attack candidacy, for people to decide on.
//
//	casus run                      the service (configured by CASUS_* variables)
//	casus classify [--format F] [--signals] [FILE|-]
//	casus decode [--format F] [FILE|-]   canonical events, for people writing rules
//	casus demo [--follow]          embedded broker, bundled scenario, real pipeline
//	casus config                   every variable, its value, default and meaning
//	casus keygen -out PREFIX       an Ed25519 key pair for signing escalations
//	casus verify -key [ID=]PUB.pem [FILE|-]   check the signatures of dumped escalation records
//	casus version
//
// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/casus-sec/casus/internal/app"
	"github.com/casus-sec/casus/internal/config"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: casus <command> [flags]

commands:
  run        consume telemetry from Kafka and publish signals and escalations
  classify   run NDJSON telemetry (or a Zeek TSV log) from a file or stdin through the pipeline, no Kafka
  decode     print the canonical event of each record, as rules see it
  demo       embedded broker + bundled scenario through the real service
  rules      lint rule files or run rule tests (casus rules lint|test PATH...)
  config     print every CASUS_* variable with its value, default and meaning
  keygen     write an Ed25519 key pair for signing escalations (casus keygen -out PREFIX)
  verify     check the signatures of escalation records dumped as NDJSON (casus verify -key PUB.pem [FILE|-])
  version    print the version
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stderr)
	case "classify":
		return cmdClassify(args[1:], stdout, stderr)
	case "decode":
		return cmdDecode(args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "config":
		return cmdConfig(stdout, stderr)
	case "rules":
		return cmdRules(args[1:], stdout, stderr)
	case "keygen":
		return cmdKeygen(args[1:], stdout, stderr)
	case "verify":
		return cmdVerify(args[1:], os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "casus", app.VersionString())
		return exitOK
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "casus: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

func loadConfig(stderr io.Writer) (config.Config, bool) {
	cfg, err := config.Load(os.LookupEnv, app.KnownFormats())
	if err != nil {
		fmt.Fprintf(stderr, "casus: invalid configuration:\n")
		for _, e := range unjoin(err) {
			fmt.Fprintf(stderr, "  %v\n", e)
		}
		return cfg, false
	}
	return cfg, true
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: casus run   (configured by CASUS_* variables; see casus config)")
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	log := app.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	know, err := app.LoadKnowledge(cfg.Files)
	if err != nil {
		fmt.Fprintf(stderr, "casus: %v\n", err)
		return exitUsage
	}
	for _, w := range know.Warnings {
		log.Warn("rule warning", "warning", w.String())
	}
	svc, err := app.NewService(cfg, know, log)
	if err != nil {
		fmt.Fprintf(stderr, "casus: %v\n", err)
		return exitFailure
	}
	if err := svc.Run(ctx); err != nil {
		log.Error("casus run", "err", err)
		return exitFailure
	}
	return exitOK
}

func cmdClassify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "auto", "telemetry format of the input; auto tells each record's format from its shape")
	signals := fs.Bool("signals", false, "also print signals (rule matches) as NDJSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casus classify [--format F] [--signals] [FILE|-]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	if !knownFormat(*format) {
		fmt.Fprintf(stderr, "casus classify: unknown format %q (known: %v)\n", *format, app.FileFormats())
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	know, err := app.LoadKnowledge(cfg.Files)
	if err != nil {
		fmt.Fprintf(stderr, "casus: %v\n", err)
		return exitUsage
	}
	in, name, size, isFile, err := openInput(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "casus classify: %v\n", err)
		return exitUsage
	}
	defer in.Close()
	progress := false
	if f, ok := stderr.(*os.File); ok && isFile {
		progress = app.IsTerminal(f)
	}
	sum, err := app.Classify(in, know, app.ClassifyOptions{
		Format: *format, Signals: *signals, Source: name, MaxRecordBytes: cfg.MaxRecordBytes,
		MinLevel: cfg.MinLevel, Stages: &cfg.Escalation, Progress: progress, Size: size, Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "casus classify: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "casus classify: %d records, %d bad, %d signals, %d escalations, %d closed\n", sum.Records, sum.Bad, sum.Signals, sum.Escalations, sum.Closed)
	for _, r := range sortedKeys(sum.Reasons) {
		fmt.Fprintf(stderr, "  bad records (%s): %d\n", r, sum.Reasons[r])
	}
	return exitOK
}

func knownFormat(f string) bool {
	for _, k := range app.FileFormats() {
		if k == f {
			return true
		}
	}
	return false
}

// openInput opens a file argument, or stdin for "" and "-"; size and isFile
// are for the progress bar.
func openInput(p string) (in io.ReadCloser, name string, size int64, isFile bool, err error) {
	if p == "" || p == "-" {
		return io.NopCloser(os.Stdin), "stdin", 0, false, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, "", 0, false, err
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size, isFile = st.Size(), true
	}
	return f, p, size, isFile, nil
}

func cmdDecode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "auto", "telemetry format of the input; auto tells each record's format from its shape")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casus decode [--format F] [FILE|-]")
		fmt.Fprintln(stderr, "prints each record's canonical event as one JSON line: format, Sigma logsource,")
		fmt.Fprintln(stderr, "ECS fields and the source's own fields; bad records are reported on stderr.")
		fmt.Fprintf(stderr, "formats: %v\n", app.FileFormats())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	if !knownFormat(*format) {
		fmt.Fprintf(stderr, "casus decode: unknown format %q (known: %v)\n", *format, app.FileFormats())
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	in, name, _, _, err := openInput(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "casus decode: %v\n", err)
		return exitUsage
	}
	defer in.Close()
	sum, err := app.Decode(in, app.DecodeOptions{Format: *format, Source: name, MaxRecordBytes: cfg.MaxRecordBytes, Stdout: stdout, Stderr: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "casus decode: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "casus decode: %d records, %d bad\n", sum.Records, sum.Bad)
	for _, f := range sortedKeys(sum.Formats) {
		fmt.Fprintf(stderr, "  %s: %d\n", f, sum.Formats[f])
	}
	for _, r := range sortedKeys(sum.Reasons) {
		fmt.Fprintf(stderr, "  bad records (%s): %d\n", r, sum.Reasons[r])
	}
	if sum.Bad > 0 {
		return exitFailure
	}
	return exitOK
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	follow := fs.Bool("follow", false, "keep running after the scenario and print the broker address for kcat")
	port := fs.Int("port", 0, "broker port on 127.0.0.1 (0: a free one)")
	benign := fs.Int("benign", 3000, "benign background records in the scenario")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: casus demo [--follow] [--port N] [--benign N]")
		return exitUsage
	}
	if *port < 0 || *port > 65535 || *benign < 0 {
		fmt.Fprintln(stderr, "casus demo: --port must be 0..65535 and --benign at least 0")
		return exitUsage
	}
	// The demo shows escalations; client retries (kfake answers long polls
	// late) would only be noise. Errors still show.
	log := app.NewLogger(os.Stderr, config.LogError, config.LogText)
	if err := app.Demo(ctx, app.DemoOptions{Follow: *follow, Port: *port, Benign: *benign, Out: stdout, Log: log}); err != nil {
		if errors.Is(err, context.Canceled) {
			return exitOK
		}
		fmt.Fprintf(stderr, "casus demo: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// cmdConfig prints the configuration even when it is invalid, so the
// table shows what is set, then names every problem and exits 2.
func cmdConfig(stdout, stderr io.Writer) int {
	cfg, err := config.Load(os.LookupEnv, app.KnownFormats())
	if perr := config.Print(stdout, cfg); perr != nil {
		fmt.Fprintf(stderr, "casus config: %v\n", perr)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintln(stderr, "casus config: invalid configuration:")
		for _, e := range unjoin(err) {
			fmt.Fprintf(stderr, "  %v\n", e)
		}
		return exitUsage
	}
	return exitOK
}
