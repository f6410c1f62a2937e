package sigma_test

import (
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
)

func builtin(tb testing.TB) *sigma.Ruleset {
	tb.Helper()
	rs, _, err := sigma.LoadFS(rules.FS(), sigma.Options{Placeholders: rules.DefaultPlaceholders()})
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

var benign = []event.Event{
	{
		Timestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), EventCategory: "process", EventType: "start",
		HostName: "ws-0142", HostIP: "10.20.1.42", HostOSFamily: "windows", UserName: "alice",
		ProcessName: "chrome.exe", ProcessExecutable: `C:\Program Files\Google\Chrome\Application\chrome.exe`,
		ProcessCommandLine:      `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-GB --field-trial-handle=1234,i,5678 /prefetch:1`,
		ProcessParentExecutable: `C:\Program Files\Google\Chrome\Application\chrome.exe`,
	},
	{
		Timestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), EventCategory: "network",
		SourceIP: "10.20.1.42", SourcePort: 51234, DestinationIP: "142.250.74.100", DestinationPort: 443,
		NetworkTransport: "udp", NetworkProtocol: "quic", NetworkPackets: 0, HostName: "ws-0142",
	},
	{
		Timestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), EventCategory: "file", EventType: "change",
		FilePath: `C:\Users\alice\Documents\report-q1.docx`, FileExtension: "docx", HostName: "ws-0142",
	},
}

// BenchmarkMatch runs the built-in rules against benign events; it must not
// allocate.
func BenchmarkMatch(b *testing.B) {
	rs := builtin(b)
	emit := func(event.Signal) { b.Fatal("benign event matched") }
	for _, name := range []string{"process", "network", "file"} {
		b.Run(name, func(b *testing.B) {
			var ev *event.Event
			for i := range benign {
				if benign[i].EventCategory == name {
					ev = &benign[i]
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				rs.Match(ev, event.Evidence{}, emit)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (it drops sync.Pool items); run without -race")
	}
	rs := builtin(t)
	for i := range benign {
		ev := &benign[i]
		n := testing.AllocsPerRun(200, func() {
			rs.Match(ev, event.Evidence{}, func(event.Signal) { t.Fatal("benign event matched") })
		})
		if n != 0 {
			t.Errorf("%s event: %v allocations per Match, want 0", ev.EventCategory, n)
		}
	}
}
