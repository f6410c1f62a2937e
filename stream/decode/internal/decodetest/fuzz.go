package decodetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
)

// Decoder is what the checks need of a decoder.
type Decoder interface {
	Decode(data []byte, ev *event.Event) error
}

// Limits are what a decoder promises of the native fields it keeps.
type Limits struct {
	MaxFields int // at most this many native fields; 0: not checked
	// EmptyFieldName allows a native field named "" (a format whose
	// records may have an empty key and keep it).
	EmptyFieldName bool
}

// CheckDecode decodes data into an event with every field set and checks
// what every decoder promises, for its fuzz target. A failure is a
// *decode.Error of the decoder's format with a known reason and a UTF-8
// message, and leaves the event reset. An accepted record is valid JSON and
// UTF-8 and gives an event that passes CheckEvent; decoding it again after
// the input buffer is overwritten gives the same event, so the decoder is
// deterministic and keeps no reference into its input. It returns the event
// and the error for the package's own checks.
func CheckDecode(t *testing.T, d Decoder, format string, data []byte, lim Limits) (event.Event, error) {
	t.Helper()
	in := bytes.Clone(data)
	ev := DirtyEvent()
	err := d.Decode(in, &ev)
	if err != nil {
		CheckError(t, err, format)
		if !reflect.DeepEqual(ev, event.Event{}) {
			t.Fatalf("event not reset after failure: %+v", ev)
		}
		return ev, err
	}
	if !json.Valid(data) || !utf8.Valid(data) {
		t.Fatalf("accepted invalid JSON %q", data)
	}
	CheckEvent(t, &ev, lim)
	for i := range in {
		in[i] = 'x'
	}
	var fresh event.Event
	if err := d.Decode(data, &fresh); err != nil {
		t.Fatalf("second decode failed: %v", err)
	}
	if !reflect.DeepEqual(fresh, ev) {
		t.Fatalf("decode is not deterministic or kept a reference into the input:\n%+v\n%+v", fresh, ev)
	}
	return ev, nil
}

// CheckError checks that err is a *decode.Error of format with a known
// reason and a valid UTF-8 message.
func CheckError(t *testing.T, err error, format string) {
	t.Helper()
	var de *decode.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *decode.Error", err, err)
	}
	if !slices.Contains(decode.Reasons(), de.Reason) || de.Format != format {
		t.Fatalf("error %v has reason %q, format %q", err, de.Reason, de.Format)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error message is not valid UTF-8: %q", err.Error())
	}
}

// CheckEvent checks what every decoded event must be: it marshals, its
// time is UTC, ports and counters are in range, native field names are
// distinct, and every string is valid UTF-8.
func CheckEvent(t *testing.T, ev *event.Event, lim Limits) {
	t.Helper()
	if _, err := json.Marshal(ev); err != nil {
		t.Fatalf("decoded event does not marshal: %v", err)
	}
	if !ev.Timestamp.IsZero() && ev.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp %v not in UTC", ev.Timestamp)
	}
	if ev.SourcePort < 0 || ev.SourcePort > 65535 || ev.DestinationPort < 0 || ev.DestinationPort > 65535 {
		t.Errorf("ports %d, %d outside 0-65535", ev.SourcePort, ev.DestinationPort)
	}
	if ev.NetworkBytes < 0 || ev.NetworkPackets < 0 {
		t.Errorf("negative counters %d, %d", ev.NetworkBytes, ev.NetworkPackets)
	}
	if lim.MaxFields > 0 && len(ev.Fields) > lim.MaxFields {
		t.Errorf("%d fields, more than %d", len(ev.Fields), lim.MaxFields)
	}
	seen := make(map[string]bool, len(ev.Fields))
	for _, f := range ev.Fields {
		if (f.Name == "" && !lim.EmptyFieldName) || seen[f.Name] {
			t.Errorf("field name %q is empty or repeated", f.Name)
		}
		seen[f.Name] = true
		if !utf8.ValidString(f.Name) || !utf8.ValidString(f.Value) {
			t.Errorf("field %q = %q is not valid UTF-8", f.Name, f.Value)
		}
	}
	strs := append([]string{ev.Logsource.Product, ev.Logsource.Category, ev.Logsource.Service}, ev.ThreatTechniques...)
	for k, v := range ev.Labels {
		strs = append(strs, k, v)
	}
	v := reflect.ValueOf(ev).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			strs = append(strs, f.String())
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Errorf("event string %q is not valid UTF-8", s)
		}
	}
}
