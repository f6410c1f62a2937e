package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
)

const mixedInput = "testdata/formats/mixed.ndjson"

// TestDecodeMixedFormats runs casus decode's engine over one file holding a
// record of every format, and bad records among them.
func TestDecodeMixedFormats(t *testing.T) {
	in, err := os.Open(mixedInput)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var stdout, stderr bytes.Buffer
	sum, err := Decode(in, DecodeOptions{Format: decode.Auto, Source: "mixed", Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	wantFormats := map[string]int{"zeek": 2, "suricata": 2, "ocsf": 2, "falco": 2, "winevt": 1, "ecs": 1}
	if !reflect.DeepEqual(sum.Formats, wantFormats) || sum.Records != 13 || sum.Bad != 3 {
		t.Errorf("summary = %+v, want formats %v, 13 records, 3 bad", sum, wantFormats)
	}
	wantReasons := map[decode.Reason]int{decode.ReasonUnknownFormat: 1, decode.ReasonWrongType: 1, decode.ReasonMalformed: 1}
	if !reflect.DeepEqual(sum.Reasons, wantReasons) {
		t.Errorf("reasons = %v, want %v", sum.Reasons, wantReasons)
	}
	for _, want := range []string{
		`mixed:4: decode auto: unknown_format: no format recognises the record (members: "msg", "level")`,
		`mixed:7: decode suricata: wrong_type: field src_ip`,
		`mixed:9: decode auto: malformed`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	// Each output line is JSON naming its input line and format.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d output lines, want 10", len(lines))
	}
	for _, l := range lines {
		var out struct {
			Line   int               `json:"line"`
			Format string            `json:"format"`
			Event  map[string]any    `json:"event"`
			Fields map[string]string `json:"fields"`
		}
		if err := json.Unmarshal([]byte(l), &out); err != nil {
			t.Fatalf("output is not JSON: %v: %s", err, l)
		}
		if out.Format == "" || out.Line == 0 || out.Event["@timestamp"] == nil {
			t.Errorf("output line lacks line, format or @timestamp: %s", l)
		}
	}
	golden := filepath.Join("testdata", "formats", "mixed.decode.golden")
	if *update {
		if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("casus decode output differs from %s (go test -update rewrites it)", golden)
	}
}

// TestDecodeZeekTSV reads a Zeek TSV log, recognised by its header with
// format auto, and checks every row comes out as an event.
func TestDecodeZeekTSV(t *testing.T) {
	path := filepath.Join("..", "..", "stream", "decode", "zeek", "testdata", "tsv", "conn_modbus_baseline", "input.log")
	for _, format := range []string{decode.Auto, decode.ZeekTSV} {
		in, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		sum, err := Decode(in, DecodeOptions{Format: format, Source: "conn.log", Stdout: &stdout, Stderr: &stderr})
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sum.Records != 9 || sum.Bad != 0 || sum.Formats[decode.ZeekTSV] != 9 {
			t.Errorf("format %s: summary %+v, want 9 zeek-tsv records (stderr: %s)", format, sum, stderr.String())
		}
		sc := bufio.NewScanner(&stdout)
		for sc.Scan() {
			if !strings.Contains(sc.Text(), `"service":"conn"`) || !strings.Contains(sc.Text(), `"conn_state":`) {
				t.Errorf("row lacks the conn logsource or conn_state: %s", sc.Text())
			}
		}
	}
}

// TestClassifyMixedFormats checks casus classify --format auto: every
// format's records reach the rules, bad ones are counted and reported.
func TestClassifyMixedFormats(t *testing.T) {
	know, err := LoadKnowledge(config.Defaults().Files)
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(mixedInput)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var stdout, stderr bytes.Buffer
	sum, err := Classify(in, know, ClassifyOptions{Format: decode.Auto, Signals: true, Source: "mixed", Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 13 || sum.Bad != 3 {
		t.Errorf("summary %+v, want 13 records, 3 bad", sum)
	}
	fired := map[string]int64{} // rule title → evidence offset
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s struct {
			RuleTitle string `json:"rule_title"`
			Evidence  struct {
				Offset int64 `json:"offset"`
			} `json:"evidence"`
		}
		if json.Unmarshal(sc.Bytes(), &s) == nil && s.RuleTitle != "" {
			fired[s.RuleTitle] = s.Evidence.Offset
		}
	}
	// Offsets count records, bad ones included, from 0.
	for title, offset := range map[string]int64{
		"Modbus write from a host that is not an engineering workstation": 1,  // Zeek modbus
		"IDS alert of a reconnaissance classtype":                         2,  // Suricata alert
		"Sensor alert naming an ATT&CK technique of destruction":          10, // Falco T1486 tag
		"Shadow copies deleted":                                           11, // Sysmon via winevt
	} {
		if got, ok := fired[title]; !ok || got != offset {
			t.Errorf("rule %q fired at offset %d (%v), want %d; fired: %v", title, got, ok, offset, fired)
		}
	}
	if _, ok := fired["Sensor alert naming an ATT&CK reconnaissance or discovery technique"]; ok {
		t.Error("the Suricata alert was classified twice: by classtype and again by its ATT&CK metadata")
	}
}
