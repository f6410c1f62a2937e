package event

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestFieldNamesCoverEvent checks that FieldNames and Get agree and that
// every field of Event is reachable by a name, so a field added to the
// struct without a name fails here.
func TestFieldNamesCoverEvent(t *testing.T) {
	var e Event
	v := reflect.ValueOf(&e).Elem()
	scalars := 0
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("x")
			scalars++
		case reflect.Int, reflect.Int64:
			f.SetInt(7)
			scalars++
		}
	}
	e.Timestamp = time.Unix(1, 0)
	e.ThreatTechniques = []string{"T1595"}
	names := FieldNames()
	// Every string and integer field, plus @timestamp and threat.technique.id.
	if want := scalars + 2; len(names) != want {
		t.Errorf("FieldNames has %d names, Event has %d named fields", len(names), want)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s listed twice", n)
		}
		seen[n] = true
		if _, ok := e.Get(n); !ok {
			t.Errorf("Get(%q) finds nothing on a fully set event", n)
		}
	}
	if !slices.Contains(names, "tls.client.server_name") || slices.Contains(names, "labels") {
		t.Errorf("FieldNames = %v", names)
	}
}
