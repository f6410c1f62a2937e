package winevt_test

import (
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

// Windows Defender names its data with spaces; Sigma's rules use the names
// without them (ThreatName, SourceName).
func TestDataNamesWithSpaces(t *testing.T) {
	rec := `{"Event":{"System":{"EventID":1119,"Channel":"Microsoft-Windows-Windows Defender/Operational",
	"Provider":{"#attributes":{"Name":"Microsoft-Windows-Windows Defender"}},
	"TimeCreated":{"#attributes":{"SystemTime":"2026-04-17T05:24:53Z"}}},
	"EventData":{"Threat Name":"Tool:Win32/EICAR_Test_File","Source Name":"Real-Time Protection"," ":"x"}}}`
	var ev event.Event
	if err := winevt.New().Decode([]byte(rec), &ev); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ThreatName": "Tool:Win32/EICAR_Test_File", "SourceName": "Real-Time Protection"} {
		if got, ok := ev.Field(name); !ok || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, ok, want)
		}
	}
	if _, ok := ev.Field("Threat Name"); ok {
		t.Error("the spaced name is kept too")
	}
	if ev.Logsource.Service != "windefend" {
		t.Errorf("service %q, want windefend", ev.Logsource.Service)
	}
}
