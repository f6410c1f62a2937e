package decode_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
)

// TestSniffGoldenInputs decodes every golden input of every format package
// with Auto: each must be recognised as its own package's format and
// decode to the same event as its own decoder gives.
func TestSniffGoldenInputs(t *testing.T) {
	r := decode.Default(0)
	// A Winlogbeat document is ECS with a winlog block; sniffing gives it
	// to winevt on purpose, which keeps the Windows event data under the
	// names Sigma rules use.
	claimedBy := map[string]string{
		filepath.Join("ecs", "testdata", "process_creation_vssadmin", "input.json"): "winevt",
	}
	for _, pkg := range []string{"ecs", "winevt", "zeek", "suricata", "ocsf", "falco"} {
		inputs, err := filepath.Glob(filepath.Join(pkg, "testdata", "*", "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(inputs) < 10 {
			t.Fatalf("%s: %d golden inputs, want at least 10", pkg, len(inputs))
		}
		for _, in := range inputs {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			format := pkg
			var want event.Event
			if err := r.Decode(format, data, &want); err != nil {
				continue // an error case of that package
			}
			if f, ok := claimedBy[in]; ok {
				format = f
				if err := r.Decode(format, data, &want); err != nil {
					t.Fatalf("%s: %v", in, err)
				}
			}
			var got event.Event
			used, err := r.DecodeAs(decode.Auto, data, &got)
			if used != format || err != nil {
				t.Errorf("%s: sniffed as %q (%v), want %s", in, used, err, format)
				continue
			}
			if !equalEvents(&got, &want) {
				t.Errorf("%s: sniffed decode differs from the %s decoder's", in, format)
			}
		}
	}
}

func equalEvents(a, b *event.Event) bool {
	// The event holds a map and slices; compare through the fields rules see.
	for _, n := range event.FieldNames() {
		x, okx := a.Get(n)
		y, oky := b.Get(n)
		if x != y || okx != oky {
			return false
		}
	}
	if a.Logsource != b.Logsource || len(a.Fields) != len(b.Fields) ||
		strings.Join(a.ThreatTechniques, ",") != strings.Join(b.ThreatTechniques, ",") || len(a.Labels) != len(b.Labels) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	for k, v := range a.Labels {
		if b.Labels[k] != v {
			return false
		}
	}
	return true
}

func TestSniffFailures(t *testing.T) {
	r := decode.Default(0)
	for _, tc := range []struct {
		name, data string
		reason     decode.Reason
		format     string
		msg        string
	}{
		{"no known shape", `{"msg":"hello","level":3}`, decode.ReasonUnknownFormat, "",
			`decode auto: unknown_format: no format recognises the record (members: "msg", "level")`},
		{"empty object", `{}`, decode.ReasonUnknownFormat, "", "(members: none)"},
		{"many members are cut", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`,
			decode.ReasonUnknownFormat, "", `"h", ...)`},
		{"not JSON", `<134>Mar 1 12:00:00 host sshd[1]: Failed password`, decode.ReasonMalformed, "", "decode auto: malformed"},
		{"array", `[{"@timestamp":"2025-01-01T00:00:00Z"}]`, decode.ReasonWrongType, "", "top level"},
		{"Zeek TSV line", "#separator \\x09", decode.ReasonUnknownFormat, "", "Zeek TSV"},
		{"a recognised format's own error names it", `{"timestamp":"2025-01-01T00:00:00Z","event_type":"flow","src_ip":"not-an-ip"}`,
			decode.ReasonWrongType, "suricata", "decode suricata: wrong_type: field src_ip"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", decode.ReasonInvalidUTF8, "", "invalid UTF-8 at offset 6"},
		{"too deep", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), decode.ReasonTooDeep, "", "deeper than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev event.Event
			used, err := r.DecodeAs(decode.Auto, []byte(tc.data), &ev)
			var de *decode.Error
			if !errors.As(err, &de) || de.Reason != tc.reason || used != tc.format || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("DecodeAs(auto) = %q, %v; want format %q, reason %s, containing %q", used, err, tc.format, tc.reason, tc.msg)
			}
		})
	}
}

// FuzzSniff checks that Auto never panics and that whatever it decodes, it
// decodes exactly as the format it names would.
func FuzzSniff(f *testing.F) {
	for _, format := range []string{"ecs", "winevt", "zeek", "suricata", "ocsf", "falco"} {
		inputs, _ := filepath.Glob(filepath.Join(format, "testdata", "*", "input.json"))
		for _, in := range inputs {
			if data, err := os.ReadFile(in); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"msg":1}`))
	r := decode.Default(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want event.Event
		used, err := r.DecodeAs(decode.Auto, data, &got)
		if err != nil {
			if errors.As(err, new(*decode.Error)) {
				return
			}
			t.Fatalf("error %v is not a *decode.Error", err)
		}
		if err := r.Decode(used, data, &want); err != nil {
			t.Fatalf("sniffed %s decodes, the %s decoder refuses: %v", used, used, err)
		}
		if !equalEvents(&got, &want) {
			t.Fatalf("sniffed %s decode differs from the %s decoder's", used, used)
		}
	})
}
