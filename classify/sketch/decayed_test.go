package sketch

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestDecayed(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const h = time.Hour
	type step struct {
		at time.Time
		x  float64
	}
	for _, tc := range []struct {
		name      string
		halfLife  time.Duration
		steps     []step
		wantValue float64
		wantAt    time.Time
		readAt    time.Time
		wantRead  float64
	}{
		{"one half-life halves", h, []step{{t0, 1}}, 1, t0, t0.Add(h), 0.5},
		{"two half-lives quarter", h, []step{{t0, 1}}, 1, t0, t0.Add(2 * h), 0.25},
		{"half a half-life", h, []step{{t0, 1}}, 1, t0, t0.Add(h / 2), 1 / math.Sqrt2},
		{"read at At", h, []step{{t0, 3}}, 3, t0, t0, 3},
		{"read before At is not grown", h, []step{{t0, 3}}, 3, t0, t0.Add(-h), 3},
		{"add decays then adds", h, []step{{t0, 1}, {t0.Add(h), 1}}, 1.5, t0.Add(h), t0.Add(2 * h), 0.75},
		{"same instant adds", h, []step{{t0, 1}, {t0, 2}}, 3, t0, t0, 3},
		{"late event decayed back", h, []step{{t0.Add(h), 1}, {t0, 1}}, 1.5, t0.Add(h), t0.Add(h), 1.5},
		{"late event long ago", h, []step{{t0.Add(3 * h), 1}, {t0, 8}}, 2, t0.Add(3 * h), t0.Add(4 * h), 1},
		{"no decay without half-life", 0, []step{{t0, 1}, {t0.Add(100 * h), 1}}, 2, t0.Add(100 * h), t0.Add(1000 * h), 2},
		{"negative half-life means none", -h, []step{{t0.Add(h), 1}, {t0, 1}}, 2, t0.Add(h), t0.Add(9 * h), 2},
		{"negative weight", h, []step{{t0, 4}, {t0.Add(h), -1}}, 1, t0.Add(h), t0.Add(h), 1},
		{"NaN ignored", h, []step{{t0, 1}, {t0.Add(h), math.NaN()}}, 1, t0, t0.Add(h), 0.5},
		{"Inf ignored", h, []step{{t0, 1}, {t0, math.Inf(1)}}, 1, t0, t0, 1},
		{"centuries underflow to zero", h, []step{{t0, 1}, {t0.Add(1 << 62), 0}}, 0, t0.Add(1 << 62), t0.Add(1 << 62), 0},
		{"empty reads zero", h, nil, 0, time.Time{}, t0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decayed
			for _, s := range tc.steps {
				d.Add(s.at, s.x, tc.halfLife)
			}
			if math.Abs(d.Value-tc.wantValue) > 1e-9 || !d.At.Equal(tc.wantAt) {
				t.Errorf("after Adds: %+v, want Value %v At %v", d, tc.wantValue, tc.wantAt)
			}
			if got := d.ValueAt(tc.readAt, tc.halfLife); math.Abs(got-tc.wantRead) > 1e-9 {
				t.Errorf("ValueAt(%v) = %v, want %v", tc.readAt, got, tc.wantRead)
			}
		})
	}
}

func TestDecayedOrderIndependent(t *testing.T) {
	// Read at or after the last event, the value does not depend on the
	// order events arrived in.
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	const h = 30 * time.Minute
	offs := []time.Duration{0, 7 * time.Minute, 2 * time.Hour, 45 * time.Minute, time.Second}
	var inOrder, reversed Decayed
	for _, o := range []int{0, 4, 1, 3, 2} {
		inOrder.Add(t0.Add(offs[o]), float64(o+1), h)
	}
	for _, o := range []int{2, 3, 1, 4, 0} {
		reversed.Add(t0.Add(offs[o]), float64(o+1), h)
	}
	at := t0.Add(3 * time.Hour)
	a, b := inOrder.ValueAt(at, h), reversed.ValueAt(at, h)
	if math.Abs(a-b) > 1e-9 {
		t.Errorf("in order %v, reversed %v", a, b)
	}
	var want float64
	for i, o := range offs {
		want += float64(i+1) * math.Exp2(-float64(at.Sub(t0.Add(o)))/float64(h))
	}
	if math.Abs(a-want) > 1e-9 {
		t.Errorf("ValueAt = %v, want sum of decayed weights %v", a, want)
	}
}

func TestDecayedJSON(t *testing.T) {
	d := Decayed{Value: 2.5, At: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"value":2.5,"at":"2025-03-01T12:00:00Z"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back Decayed
	if err := json.Unmarshal(b, &back); err != nil || back.Value != d.Value || !back.At.Equal(d.At) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
