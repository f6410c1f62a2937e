package winevt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

// sigmaDir holds SigmaHQ's rules and regression data (see its README.md).
const sigmaDir = "../../../../shared/data/sigma"

// regressionSamples returns every regression event file, or skips the test
// when the data set is absent.
func regressionSamples(tb testing.TB) []string {
	tb.Helper()
	root := filepath.Join(sigmaDir, "regression_data")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("Sigma regression data not found at %s; skipping", root)
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no *.json under %s", root)
	}
	sort.Strings(files)
	return files
}

// splitRecords returns the JSON values in a file: most hold one record,
// some several, one after another.
func splitRecords(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var recs [][]byte
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return recs
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, raw)
	}
}

type sigmaLogsource struct {
	Product  string `yaml:"product"`
	Category string `yaml:"category"`
	Service  string `yaml:"service"`
}

type sigmaRule struct {
	path      string
	logsource sigmaLogsource
}

var ruleIDLine = regexp.MustCompile(`(?m)^id:\s*['"]?([0-9A-Za-z-]+)`)

// sigmaRules finds the rules with the given ids under sigmaDir/rules*,
// parsing only files whose top-level id is wanted.
func sigmaRules(t *testing.T, ids map[string]bool) map[string]sigmaRule {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(sigmaDir, "rules*"))
	if err != nil || len(dirs) == 0 {
		t.Skipf("Sigma rules not found under %s; skipping", sigmaDir)
	}
	rules := map[string]sigmaRule{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			m := ruleIDLine.FindSubmatch(data)
			if m == nil || !ids[string(m[1])] {
				return nil
			}
			var doc struct {
				ID        string         `yaml:"id"`
				Logsource sigmaLogsource `yaml:"logsource"`
			}
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			rules[doc.ID] = sigmaRule{path: path, logsource: doc.Logsource}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return rules
}

// satisfies reports whether an event's logsource meets a rule's: each of
// product, category and service the rule sets must be equal, and the
// category registry_event stands for the four Sysmon registry categories.
func satisfies(rule sigmaLogsource, ev event.Logsource) bool {
	if rule.Product != "" && rule.Product != ev.Product {
		return false
	}
	if rule.Service != "" && rule.Service != ev.Service {
		return false
	}
	switch rule.Category {
	case "", ev.Category:
		return true
	case "registry_event":
		switch ev.Category {
		case "registry_add", "registry_delete", "registry_set", "registry_rename":
			return true
		}
	}
	return false
}

// TestSigmaRegression decodes every event of SigmaHQ's regression data and
// checks that the rule each case names would be selected by the decoded
// logsource.
func TestSigmaRegression(t *testing.T) {
	files := regressionSamples(t)
	d := winevt.New()

	type sample struct {
		file   string
		ruleID string
		events []event.Event
	}
	var samples []sample
	ids := map[string]bool{}
	records := 0
	for _, file := range files {
		s := sample{file: file}
		for i, rec := range splitRecords(t, file) {
			var ev event.Event
			if err := d.Decode(rec, &ev); err != nil {
				t.Errorf("%s record %d: %v", file, i, err)
				continue
			}
			s.events = append(s.events, ev)
			records++
		}
		info, err := os.ReadFile(filepath.Join(filepath.Dir(file), "info.yml"))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		var meta struct {
			RuleMetadata []struct {
				ID string `yaml:"id"`
			} `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(info, &meta); err != nil || len(meta.RuleMetadata) == 0 {
			t.Errorf("%s: info.yml names no rule (%v)", file, err)
			continue
		}
		s.ruleID = meta.RuleMetadata[0].ID
		ids[s.ruleID] = true
		samples = append(samples, s)
	}

	rules := sigmaRules(t, ids)
	pass := 0
	for _, s := range samples {
		rule, ok := rules[s.ruleID]
		if !ok {
			t.Errorf("%s: rule %s not found under %s/rules*", s.file, s.ruleID, sigmaDir)
			continue
		}
		ok = true
		for i, ev := range s.events {
			if !satisfies(rule.logsource, ev.Logsource) {
				ok = false
				t.Errorf("%s record %d: logsource %+v does not satisfy rule %s (%s) logsource %+v",
					s.file, i, ev.Logsource, s.ruleID, rule.path, rule.logsource)
			}
		}
		if ok {
			pass++
		}
	}
	t.Logf("%d files, %d records decoded; %d of %d cases satisfy their rule's logsource",
		len(files), records, pass, len(samples))
}
