package zeek_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// ecsNames are the canonical fields event.Event carries (see Event.Get).
var ecsNames = []string{
	"@timestamp", "event.kind", "event.category", "event.type", "event.action", "event.outcome",
	"event.dataset", "event.code", "event.severity", "source.ip", "source.port", "source.domain",
	"source.user.name", "destination.ip", "destination.port", "destination.domain", "network.transport",
	"network.protocol", "network.direction", "network.bytes", "network.packets", "host.name", "host.ip",
	"host.os.family", "process.name", "process.executable", "process.command_line",
	"process.parent.executable", "file.path", "file.extension", "url.original", "http.request.method",
	"http.response.status_code", "dns.question.name", "tls.client.server_name", "user.name",
	"user_agent.original", "service.name", "rule.name", "rule.category", "observer.vendor",
	"observer.product", "observer.type", "ics.protocol", "ics.function", "ics.function_code",
	"ics.unit_id", "threat.technique.id",
}

// The README's mapping tables name every canonical field a golden case
// produces.
func TestReadmeListsEveryField(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var events []event.Event
	d := zeek.New()
	for _, dir := range decodetest.GoldenCases(t) {
		events = append(events, decodeCase(t, d, filepath.Base(dir)))
	}
	for _, dir := range tsvCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range readAll(t, in) {
			if r.Event != nil {
				events = append(events, *r.Event)
			}
		}
	}
	set := map[string]bool{}
	for i := range events {
		for _, n := range ecsNames {
			if _, ok := events[i].Get(n); ok {
				set[n] = true
			}
		}
		if len(events[i].Labels) > 0 {
			set["labels.*"] = true
		}
	}
	if len(set) < 30 {
		t.Errorf("golden cases set only %d fields", len(set))
	}
	for n := range set {
		if !strings.Contains(string(readme), "`"+n+"`") {
			t.Errorf("README.md does not list %s", n)
		}
	}
}
