package suricata_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/suricata"
)

func FuzzDecode(f *testing.F) {
	for _, dir := range decodetest.GoldenCases(f) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"event_type":null}`, `{"event_type":"alert"}`, `{"event_type":"alert","alert":[]}`,
		`{"event_type":"flow","proto":"TCP","flow":{"pkts_toclient":"0"},"tcp":{"tcp_flags_ts":"Ff","tcp_flags_tc":"0"}}`,
		`{"event_type":"dns","dns":{"queries":[{"rrname":"a"},{"rrname":"b"}],"rrname":1,"answer":{"rrname":"c"}}}`,
		`{"event_type":"alert","alert":{"metadata":{"mitre_technique_id":["t1595.001",["T1046"],{"x":"T1"}]}}}`,
		`{"event_type":"http","http":{"status":"1e2","url":"\ud800"},"src_ip":"fe80::1%eth0","host":{"name":null}}`,
		`{"event_type":"x","":{"":[{"":""}]},"a.b":1,"a":{"b":2},"vlan":[[],[[]],{}]}`,
		"{\"event_type\":\"flow\",\"host\":\"\xc3\"}",
		`{"timestamp":"0000-01-01T00:30:00+0100","event_type":"flow"}`,
	} {
		f.Add([]byte(s))
	}
	d := suricata.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := decodetest.CheckDecode(t, d, suricata.Format, data, decodetest.Limits{MaxFields: suricata.MaxFields})
		if err == nil {
			checkSuricata(t, &ev)
		}
	})
}

// checkSuricata checks what an EVE record always gives beyond the common
// invariants.
func checkSuricata(t *testing.T, ev *event.Event) {
	t.Helper()
	if ev.Logsource.Product != "suricata" || ev.ObserverProduct != "suricata" {
		t.Errorf("product %q / %q", ev.Logsource.Product, ev.ObserverProduct)
	}
	if et, ok := ev.Field("event_type"); !ok || et == "" || et != ev.Logsource.Service {
		t.Errorf("event_type %q (%v), service %q", et, ok, ev.Logsource.Service)
	}
	switch ev.EventOutcome {
	case "", "success", "failure":
	default:
		t.Errorf("event.outcome %q", ev.EventOutcome)
	}
	for _, id := range ev.ThreatTechniques {
		if len(id) != 5 && len(id) != 9 || id[0] != 'T' {
			t.Errorf("technique %q", id)
		}
	}
}
