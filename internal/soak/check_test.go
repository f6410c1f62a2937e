package soak

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func esc(id, level, source string, offset int) Record {
	return Record{Topic: "esc", Value: fmt.Appendf(nil,
		`{"id":%q,"source":%q,"time":"2026-03-02T10:00:00Z","data":{"level":%s,"evidence":[{"rule_id":"r1","record":{"topic":"t","partition":%d,"offset":%d,"event_time":"2026-03-02T09:00:00Z"}}]}}`,
		id, source, level, offset%6, offset)}
}

func body(t *testing.T, r Record) string {
	t.Helper()
	_, b, err := Normalize(r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dead(key string, topic string, partition int, offset int64) Record {
	return Record{Topic: "dl", Key: []byte(key), Headers: map[string]string{
		headerReason: "malformed", headerSourceTopic: topic,
		headerSourcePartition: fmt.Sprint(partition), headerSourceOffset: fmt.Sprint(offset)}}
}

func TestNormalizeIgnoresSourceAndPositions(t *testing.T) {
	a, b := esc("e1", "3", "casus/g1", 10), esc("e1", "3", "classify", 999)
	if body(t, a) != body(t, b) {
		t.Errorf("bodies differing only in source and evidence position compare unequal:\n%s\n%s", body(t, a), body(t, b))
	}
	if body(t, a) == body(t, esc("e1", "4", "casus/g1", 10)) {
		t.Error("bodies with different levels compare equal")
	}
	if !strings.Contains(body(t, a), `"event_time":"2026-03-02T09:00:00Z"`) {
		t.Errorf("the evidence's event time was dropped: %s", body(t, a))
	}
	for _, bad := range []string{`not json`, `{"source":"x"}`, `{"id":""}`} {
		if _, _, err := Normalize([]byte(bad)); err == nil {
			t.Errorf("Normalize(%s) = nil error", bad)
		}
	}
}

func TestCheckEscalations(t *testing.T) {
	truth := Truth{Escalations: map[string]string{}}
	for _, id := range []string{"a", "b", "c", "d"} {
		truth.Escalations[id] = body(t, esc(id, "3", "", 0))
	}
	tests := []struct {
		name                      string
		got                       []Record
		present, dups             int
		missing, conflicting, unx []string
		differing                 []string
		invalid                   int
		fails                     bool
	}{
		{name: "exact", got: []Record{esc("a", "3", "s", 1), esc("b", "3", "s", 2), esc("c", "3", "s", 3), esc("d", "3", "s", 4)}, present: 4},
		{name: "identical repeats are allowed", present: 4, dups: 3,
			got: []Record{esc("a", "3", "s", 1), esc("a", "3", "s", 7), esc("a", "3", "s2", 8), esc("b", "3", "s", 2), esc("c", "3", "s", 3), esc("d", "3", "s", 4), esc("d", "3", "s", 4)}},
		{name: "missing", got: []Record{esc("a", "3", "s", 1), esc("c", "3", "s", 3)}, present: 2, missing: []string{"b", "d"}, fails: true},
		{name: "an id with two bodies", present: 4, dups: 1, conflicting: []string{"b"}, fails: true,
			got: []Record{esc("a", "3", "s", 1), esc("b", "3", "s", 2), esc("b", "4", "s", 2), esc("b", "3", "s", 2), esc("c", "3", "s", 3), esc("d", "3", "s", 4)}},
		{name: "a body other than expected", present: 4, differing: []string{"c"}, fails: true,
			got: []Record{esc("a", "3", "s", 1), esc("b", "3", "s", 2), esc("c", "2", "s", 3), esc("d", "3", "s", 4)}},
		{name: "unexpected and invalid", present: 4, unx: []string{"x", "y"}, invalid: 1, fails: true,
			got: []Record{esc("y", "1", "s", 9), esc("a", "3", "s", 1), esc("b", "3", "s", 2), esc("c", "3", "s", 3), esc("d", "3", "s", 4), esc("x", "1", "s", 9), {Value: []byte("{")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(truth, Observed{Escalations: tt.got})
			if v.Expected != 4 || v.Present != tt.present || v.Duplicates != tt.dups || v.Invalid != tt.invalid {
				t.Errorf("expected %d present %d duplicates %d invalid %d, want 4 %d %d %d", v.Expected, v.Present, v.Duplicates, v.Invalid, tt.present, tt.dups, tt.invalid)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"missing", v.Missing, tt.missing}, {"conflicting", v.Conflicting, tt.conflicting}, {"unexpected", v.Unexpected, tt.unx}, {"differing", v.Differing, tt.differing}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if got := len(v.Failures()) > 0; got != tt.fails {
				t.Errorf("fails = %v (%v), want %v", got, v.Failures(), tt.fails)
			}
		})
	}
}

func TestCheckDeadLetters(t *testing.T) {
	k0, v0 := Malformed(0)
	k1, v1 := Malformed(1)
	k2, v2 := Malformed(2)
	truth := Truth{Escalations: map[string]string{"a": body(t, esc("a", "3", "", 0))},
		Malformed: map[string]bool{string(k0): true, string(k1): true, string(k2): true}}
	// k1 was stored twice (a retried write), at 1/5 and 1/9.
	input := []Record{
		{Topic: "in", Partition: 0, Offset: 3, Key: k0, Value: v0},
		{Topic: "in", Partition: 1, Offset: 5, Key: k1, Value: v1},
		{Topic: "in", Partition: 1, Offset: 9, Key: k1, Value: v1},
		{Topic: "in", Partition: 2, Offset: 0, Key: k2, Value: v2},
		{Topic: "in", Partition: 2, Offset: 1, Key: []byte("10.10"), Value: []byte(`{}`)},
	}
	escs := []Record{esc("a", "3", "s", 1)}
	tests := []struct {
		name                string
		dl                  []Record
		dead, repeats       int
		missing             []string
		stray               int
		fails               bool
		inputDups, reasonsN int
	}{
		{name: "one each", dl: []Record{dead(string(k0), "in", 0, 3), dead(string(k1), "in", 1, 5), dead(string(k2), "in", 2, 0)}, dead: 3},
		{name: "both copies of a twice-stored record and a replay", dead: 3, repeats: 2,
			dl: []Record{dead(string(k0), "in", 0, 3), dead(string(k1), "in", 1, 5), dead(string(k1), "in", 1, 9), dead(string(k2), "in", 2, 0), dead(string(k2), "in", 2, 0)}},
		{name: "one not dead-lettered", dl: []Record{dead(string(k0), "in", 0, 3), dead(string(k2), "in", 2, 0)}, dead: 2, missing: []string{string(k1)}, fails: true},
		{name: "a good record dead-lettered", dead: 3, stray: 1, fails: true,
			dl: []Record{dead(string(k0), "in", 0, 3), dead(string(k1), "in", 1, 5), dead(string(k2), "in", 2, 0), dead("10.10", "in", 2, 1)}},
		{name: "a dead letter naming the wrong position", dead: 2, stray: 1, missing: []string{string(k2)}, fails: true,
			dl: []Record{dead(string(k0), "in", 0, 3), dead(string(k1), "in", 1, 5), dead(string(k2), "in", 2, 7)}},
		{name: "a dead letter without its source", dead: 2, stray: 1, missing: []string{string(k0)}, fails: true,
			dl: []Record{{Key: k0, Headers: map[string]string{headerReason: "malformed"}}, dead(string(k1), "in", 1, 5), dead(string(k2), "in", 2, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(truth, Observed{Escalations: escs, DeadLetters: tt.dl, Telemetry: input})
			if v.MalformedSent != 3 || v.MalformedDead != tt.dead || v.DeadRepeats != tt.repeats || len(v.DeadStray) != tt.stray {
				t.Errorf("sent %d dead %d repeats %d stray %v, want 3 %d %d %d", v.MalformedSent, v.MalformedDead, v.DeadRepeats, v.DeadStray, tt.dead, tt.repeats, tt.stray)
			}
			if !slices.Equal(v.MalformedMissing, tt.missing) {
				t.Errorf("not dead-lettered = %v, want %v", v.MalformedMissing, tt.missing)
			}
			if v.InputDuplicates != 1 {
				t.Errorf("input duplicates = %d, want 1", v.InputDuplicates)
			}
			if v.DeadReasons["malformed"] != len(tt.dl) {
				t.Errorf("reasons = %v, want malformed %d", v.DeadReasons, len(tt.dl))
			}
			if got := len(v.Failures()) > 0; got != tt.fails {
				t.Errorf("fails = %v (%v), want %v", got, v.Failures(), tt.fails)
			}
		})
	}
}

func TestNoTruthFails(t *testing.T) {
	if f := Check(Truth{}, Observed{}).Failures(); len(f) != 1 || !strings.Contains(f[0], "no escalation") {
		t.Errorf("an empty ground truth: failures %v", f)
	}
}

func TestMarkdown(t *testing.T) {
	truth := Truth{Escalations: map[string]string{"a": body(t, esc("a", "3", "", 0)), "b": body(t, esc("b", "3", "", 0))}}
	r := Report{Run: Run{Mode: "short", Seed: 7, Produced: 100, Rate: 10, MaxLag: map[string]int64{"g": 5, "g-campaign": 0}},
		Verdict: Check(truth, Observed{Escalations: []Record{esc("a", "3", "s", 1)}})}
	md := r.Markdown()
	for _, want := range []string{"seed 7", "| expected escalations | 2 |", "| present | 1 |", "| missing (must be 0) | 1 |",
		"| max consumer lag, records (admin offsets, every 5s) | g 5, g-campaign 0 (0 samples) |", "**FAIL**", "1 expected escalations missing: b"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	r.Verdict = Check(truth, Observed{Escalations: []Record{esc("a", "3", "s", 1), esc("b", "3", "s", 1)}})
	if md := r.Markdown(); !strings.Contains(md, "**PASS**") {
		t.Errorf("a passing run's report:\n%s", md)
	}
}
