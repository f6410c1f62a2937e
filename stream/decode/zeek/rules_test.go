package zeek_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// sigmaDir holds SigmaHQ's rules when the shared data set is present.
const sigmaDir = "../../../../shared/data/sigma"

func fired(rs *sigma.Ruleset, ev *event.Event) []string {
	var ids []string
	rs.Match(ev, event.Evidence{Topic: "zeek"}, func(s event.Signal) { ids = append(ids, s.RuleID) })
	return ids
}

// A Zeek Modbus write reaches casus's built-in ICS rule: category
// network_connection routes it, ics.* satisfy its selection.
func TestModbusWriteFiresBuiltinRule(t *testing.T) {
	const modbusRule = "d1d1629b-4cb0-4677-9590-4f30c8cf9467"
	rs, warns, err := sigma.LoadFS(rules.FS(), sigma.Options{Placeholders: rules.DefaultPlaceholders()})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Logf("warning: %s", w)
	}
	d := zeek.New()
	write := decodeCase(t, d, "modbus_write_single_register")
	if ids := fired(rs, &write); !slices.Contains(ids, modbusRule) {
		t.Errorf("Modbus write fired %v, want %s", ids, modbusRule)
	}
	read := decodeCase(t, d, "modbus_exception_response")
	if ids := fired(rs, &read); slices.Contains(ids, modbusRule) {
		t.Errorf("Modbus read fired the write rule")
	}
	// From the engineering network the write is allowed.
	rs2, _, err := sigma.LoadFS(rules.FS(), sigma.Options{Placeholders: map[string][]string{"engineering_hosts": {"10.1.1.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := fired(rs2, &write); slices.Contains(ids, modbusRule) {
		t.Errorf("write from an engineering host fired the rule")
	}
}

// SigmaHQ's Zeek rules (product zeek, service http/dns) match decoded
// records through the native field names.
func TestSigmaHQZeekRules(t *testing.T) {
	dir := filepath.Join(sigmaDir, "rules", "network", "zeek")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("SigmaHQ rules not present at %s: %v", dir, err)
	}
	var files []sigma.File
	for _, name := range []string{"zeek_http_webdav_put_request.yml", "zeek_dns_torproxy.yml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, sigma.File{Name: name, Data: b})
	}
	rs, _, err := sigma.Compile(files, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := zeek.New()
	put := decodeCase(t, d, "http_webdav_put_nmap")
	if ids := fired(rs, &put); len(ids) != 1 {
		t.Errorf("WebDAV PUT to a public address fired %v, want the WebDAV PUT rule", ids)
	}
	get := decodeCase(t, d, "http_get")
	if ids := fired(rs, &get); len(ids) != 0 {
		t.Errorf("plain GET fired %v", ids)
	}
	var dns event.Event
	if err := d.Decode([]byte(`{"_path":"dns","ts":1,"id.orig_h":"10.0.0.5","id.resp_h":"10.0.0.1","query":"abcdefgh.onion.city"}`), &dns); err != nil {
		t.Fatal(err)
	}
	if ids := fired(rs, &dns); len(ids) != 1 {
		t.Errorf("Tor proxy DNS query fired %v, want the Tor proxy rule", ids)
	}
}
