// Package decodetest holds the test helpers every decoder package shares:
// finding golden cases, rendering an event for a golden file, an event with
// every field set, so a decoder that forgets to reset one shows, and the
// checks every decoder's fuzz target makes (CheckDecode, CheckEvent,
// CheckError). It is imported by tests only.
package decodetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
)

// GoldenCases returns the testdata folders that hold an input.json.
func GoldenCases(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		tb.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("testdata", e.Name(), "input.json")); e.IsDir() && err == nil {
			dirs = append(dirs, filepath.Join("testdata", e.Name()))
		}
	}
	return dirs
}

// MarshalEvent renders v (an event, or a list of them) as a golden file does.
func MarshalEvent(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatalf("marshal event: %v", err)
	}
	return append(b, '\n')
}

// DirtyEvent has every field set, so a missing reset shows.
func DirtyEvent() event.Event {
	ev := event.Event{
		Timestamp:        time.Unix(1, 0),
		Labels:           map[string]string{"stale": "x"},
		ThreatTechniques: []string{"T0000"},
		Fields:           []event.Field{{Name: "stale", Value: "x"}},
		Logsource:        event.Logsource{Product: "stale", Category: "stale", Service: "stale"},
	}
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("stale")
		case reflect.Int, reflect.Int64:
			f.SetInt(7)
		}
	}
	return ev
}
