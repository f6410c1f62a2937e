package app

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
}

// KnownFormats lists the telemetry formats this build decodes.
func KnownFormats() []string { return decode.Default(0).Names() }

// LoadKnowledge loads the files named by the configuration; absent names
// take the embedded defaults (bundled rules, default policy, empty inventory
// and intelligence).
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
	if k.Rules, k.Warnings, err = compileRules(f.RulesDir, k.Assets); err != nil {
		return nil, err
	}
	return k, nil
}

// compileRules compiles the bundled rules plus those in dir (if any).
func compileRules(dir string, inv *assets.Inventory) (*sigma.Ruleset, []sigma.Warning, error) {
	files, err := ruleFiles(rules.FS(), "bundled")
	if err != nil {
		return nil, nil, err
	}
	if dir != "" {
		extra, err := ruleFiles(os.DirFS(dir), dir)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, extra...)
	}
	rs, warns, err := sigma.Compile(files, sigma.Options{Placeholders: placeholders(inv)})
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

func ruleFiles(fsys fs.FS, origin string) ([]sigma.File, error) {
	var files []sigma.File
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
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
