package app

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/severity"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
)

// Knowledge is what classification needs besides the telemetry: rules,
// policy, asset inventory and intelligence.
type Knowledge struct {
	Rules    *sigma.Ruleset
	Policy   *severity.Policy
	Assets   *assets.Inventory
	Intel    *intel.Intel
	Warnings []sigma.Warning

	// source is where Rules were compiled from, so that a Reloader can
	// compile them again; nil when the rules were given, not configured.
	source *ruleSource
	// loaded is what Rules were compiled from: the files' stamp and digest.
	loaded ruleState
}

// KnownFormats lists the telemetry formats this build decodes.
func KnownFormats() []string { return decode.Default(0).Names() }

// FileFormats are the formats casus classify and casus decode read: the
// record formats and Zeek's TSV log files.
func FileFormats() []string { return append(KnownFormats(), decode.ZeekTSV) }

// LoadKnowledge loads the files named by the configuration; absent names
// take the embedded defaults (bundled rules, default policy, empty inventory
// and intelligence). Every directory of CASUS_RULES_DIRS must exist.
func LoadKnowledge(f config.Files) (*Knowledge, error) {
	k := &Knowledge{Policy: severity.Default(), Assets: assets.Empty(), Intel: intel.Empty()}
	var err error
	if f.PolicyFile != "" {
		if k.Policy, err = severity.Load(f.PolicyFile); err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
	}
	if f.AssetsFile != "" {
		if k.Assets, err = assets.Load(f.AssetsFile); err != nil {
			return nil, fmt.Errorf("load asset inventory: %w", err)
		}
	}
	if f.IntelFile != "" {
		if k.Intel, err = intel.Load(f.IntelFile); err != nil {
			return nil, fmt.Errorf("load intelligence: %w", err)
		}
	}
	if err := checkRuleDirs(f.RulesDirs); err != nil {
		return nil, err
	}
	src := &ruleSource{dirs: f.RulesDirs, placeholders: placeholders(k.Assets), interval: f.RulesPollInterval}
	stamp := src.stamp() // before reading: a change while reading shows at the next poll
	files, err := src.read()
	if err != nil {
		return nil, err
	}
	if k.Rules, k.Warnings, err = src.compile(files); err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	k.source, k.loaded = src, ruleState{stamp: stamp, digest: digestOf(files)}
	return k, nil
}

// checkRuleDirs reports every CASUS_RULES_DIRS entry that is not a directory.
func checkRuleDirs(dirs []string) error {
	const name = config.Prefix + "_RULES_DIRS"
	var errs []error
	for _, d := range dirs {
		st, err := os.Stat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s: %s: no such directory", name, d))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		case !st.IsDir():
			errs = append(errs, fmt.Errorf("%s: %s: not a directory", name, d))
		}
	}
	return errors.Join(errs...)
}

// ruleSource is where a rule set comes from: the bundled rules plus the
// rule files under dirs, with the placeholders the inventory resolves.
type ruleSource struct {
	dirs         []string
	placeholders map[string][]string
	interval     time.Duration // how often a Reloader checks the files; 0: never
}

// ruleState identifies the files a rule set was compiled from.
type ruleState struct {
	stamp  string   // paths, sizes and modification times under the dirs
	digest [32]byte // names and contents of every file, bundled ones included
}

// read returns the bundled rule files, then those of each directory, each
// group in path order.
func (s *ruleSource) read() ([]sigma.File, error) {
	files, err := ruleFiles(rules.FS(), "bundled")
	if err != nil {
		return nil, err
	}
	for _, dir := range s.dirs {
		extra, err := ruleFiles(os.DirFS(dir), dir)
		if err != nil {
			return nil, err
		}
		files = append(files, extra...)
	}
	return files, nil
}

// compile compiles files all or nothing: the error joins every problem,
// each a *sigma.RuleError naming file, line and column.
func (s *ruleSource) compile(files []sigma.File) (*sigma.Ruleset, []sigma.Warning, error) {
	rs, warns, err := sigma.Compile(files, sigma.Options{Placeholders: s.placeholders})
	if err != nil {
		return nil, warns, err
	}
	return rs, warns, nil
}

// stamp fingerprints the rule files under the directories by path, size and
// modification time, following symbolic links (a Kubernetes ConfigMap
// swaps the link's target, not the link). It is cheap enough to poll; a
// directory it cannot read stamps as its error, so a vanished directory is
// a change too.
func (s *ruleSource) stamp() string {
	h := sha256.New()
	for _, dir := range s.dirs {
		fsys := os.DirFS(dir)
		err := walkRuleFiles(fsys, func(p string) error {
			st, err := fs.Stat(fsys, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\n", dir, p, st.Size(), st.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "error: " + err.Error()
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestOf hashes the names and contents of files: equal digests compile to
// equal rule sets.
func digestOf(files []sigma.File) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, f := range files {
		for _, b := range [][]byte{[]byte(f.Name), f.Data} {
			binary.BigEndian.PutUint64(n[:], uint64(len(b)))
			h.Write(n[:])
			h.Write(b)
		}
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// compileRules compiles the bundled rules plus those in dir (if any).
func compileRules(dir string, inv *assets.Inventory) (*sigma.Ruleset, []sigma.Warning, error) {
	src := &ruleSource{placeholders: placeholders(inv)}
	if dir != "" {
		src.dirs = []string{dir}
	}
	files, err := src.read()
	if err != nil {
		return nil, nil, err
	}
	rs, warns, err := src.compile(files)
	if err != nil {
		return nil, warns, fmt.Errorf("compile rules: %w", err)
	}
	return rs, warns, nil
}

// placeholders resolves the rules' %name% placeholders: the engineering
// workstations come from the inventory (role: engineering); without any,
// the bundled default names none, so every Modbus write is reported.
func placeholders(inv *assets.Inventory) map[string][]string {
	ph := rules.DefaultPlaceholders()
	if eng := inv.CIDRsWithRole(assets.RoleEngineering); len(eng) > 0 {
		ph["engineering_hosts"] = eng
	}
	return ph
}

// isRuleFile says whether a file name is a Sigma rule file: *.yml or *.yaml,
// but not *.test.yml or *.test.yaml, which hold rule tests: editing a test
// is not a change of the rules, so it neither reloads nor resets state.
// Field-mapping pipelines (*.pipeline.yml) count: they change the rules.
func isRuleFile(name string) bool {
	return !sigma.IsTestFile(name) && (strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml"))
}

// walkRuleFiles calls fn with the path of every rule file under fsys.
// Hidden files and directories are skipped: editors keep their swap files
// there, and a Kubernetes ConfigMap mount holds a hidden copy of every file
// beside the visible links to it.
func walkRuleFiles(fsys fs.FS, fn func(p string) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isRuleFile(d.Name()) {
			return nil
		}
		return fn(p)
	})
}

func ruleFiles(fsys fs.FS, origin string) ([]sigma.File, error) {
	var files []sigma.File
	err := walkRuleFiles(fsys, func(p string) error {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, sigma.File{Name: filepath.Join(origin, p), Data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rules from %s: %w", origin, err)
	}
	slices.SortFunc(files, func(a, b sigma.File) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

// NewLogger builds the process logger from the configuration.
func NewLogger(w *os.File, level config.LogLevel, format config.LogFormat) *slog.Logger {
	var l slog.Level
	switch level {
	case config.LogDebug:
		l = slog.LevelDebug
	case config.LogWarn:
		l = slog.LevelWarn
	case config.LogError:
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == config.LogText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
