package sketch

import (
	"math"
	"time"
)

// Decayed is a counter whose weight halves every half-life, so that old
// reconnaissance counts less than fresh reconnaissance without a window
// edge where it suddenly stops counting. Value is the weight as seen at
// At; the zero Decayed is empty. Both fields are exported so the counter
// snapshots as plain JSON.
type Decayed struct {
	Value float64   `json:"value"`
	At    time.Time `json:"at"`
}

// Add adds x observed at time at. When at is at or after d.At, the current
// value is first decayed to at and At moves to at. When at is before d.At
// (a late event), x is decayed back by the gap and added without moving At,
// so the counter never runs backwards in time. A zero At takes at as is.
// halfLife <= 0 means no decay. A NaN or infinite x is ignored so the
// counter stays finite and encodable.
func (d *Decayed) Add(at time.Time, x float64, halfLife time.Duration) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	switch {
	case d.At.IsZero():
		d.Value += x
		d.At = at
	case at.Before(d.At):
		d.Value += x * decay(d.At.Sub(at), halfLife)
	default:
		d.Value = d.Value*decay(at.Sub(d.At), halfLife) + x
		d.At = at
	}
}

// ValueAt returns the value as seen at t: Value decayed from At to t. For
// t at or before At it returns Value, since the weight added after t cannot
// be told apart. halfLife <= 0 means no decay.
func (d Decayed) ValueAt(t time.Time, halfLife time.Duration) float64 {
	if d.At.IsZero() || !t.After(d.At) {
		return d.Value
	}
	return d.Value * decay(t.Sub(d.At), halfLife)
}

// decay is the factor 2^(-elapsed/halfLife), or 1 without a half-life.
func decay(elapsed, halfLife time.Duration) float64 {
	if halfLife <= 0 || elapsed <= 0 {
		return 1
	}
	return math.Exp2(-float64(elapsed) / float64(halfLife))
}
