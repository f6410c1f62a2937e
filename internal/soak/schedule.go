package soak

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Kind names a fault.
type Kind string

// The faults a soak run injects.
const (
	KillCasus   Kind = "kill-casus"   // SIGKILL a casus process, start another after Down
	StopBroker  Kind = "stop-broker"  // stop broker Node cleanly, start it after Down
	KillBroker  Kind = "kill-broker"  // SIGKILL broker Node, start it after Down
	AddCasus    Kind = "add-casus"    // start one more casus process (a rebalance)
	RemoveCasus Kind = "remove-casus" // SIGTERM the process AddCasus started
	MoveLeaders Kind = "move-leaders" // reorder the escalation topic's replicas and elect the preferred leaders
)

// Fault is one scheduled fault, At after the producer starts.
type Fault struct {
	At   time.Duration
	Kind Kind
	// Node is the broker (1-based) of a broker fault.
	Node int
	// Down is how long a killed process or a stopped broker stays down.
	Down time.Duration
}

func (f Fault) String() string {
	s := fmt.Sprintf("%s %s", f.At.Round(time.Second), f.Kind)
	if f.Node > 0 {
		s += fmt.Sprintf(" node %d", f.Node)
	}
	if f.Down > 0 {
		s += fmt.Sprintf(" down %s", f.Down.Round(100*time.Millisecond))
	}
	return s
}

// Profile sizes a soak run.
type Profile struct {
	Name string
	// Produce is how long the producer sends, at Rate records per second.
	Produce time.Duration
	Rate    int
	// Budget bounds the whole run: building, producing, settling, checking.
	Budget time.Duration
	// MalformedEvery: one record in MalformedEvery is malformed.
	MalformedEvery int
	CasusKills     int
	BrokerRestarts int
	ScaleOuts      int // casus processes added and later removed
	LeaderMoves    int
}

// Records is how many records the producer sends in all.
func (p Profile) Records() int { return int(p.Produce.Seconds() * float64(p.Rate)) }

// ProfileOf returns the profile of a CASUS_SOAK mode.
func ProfileOf(mode string) (Profile, error) {
	switch mode {
	case "short":
		return Profile{Name: "short", Produce: 3 * time.Minute, Rate: 150, Budget: 6 * time.Minute, MalformedEvery: 400,
			CasusKills: 3, BrokerRestarts: 2, ScaleOuts: 1, LeaderMoves: 1}, nil
	case "full":
		return Profile{Name: "full", Produce: 20 * time.Minute, Rate: 120, Budget: 30 * time.Minute, MalformedEvery: 400,
			CasusKills: 22, BrokerRestarts: 4, ScaleOuts: 2, LeaderMoves: 3}, nil
	}
	return Profile{}, fmt.Errorf("soak mode %q: want short or full", mode)
}

// Schedule draws the faults of a run from seed, in the order of their
// times. Broker faults need at least two brokers and leader moves need
// replicas to reorder, so with one broker there are neither. Broker faults
// get separate slots of the producing window, so that a restarted broker
// has time to catch up before the next one goes down; the runner also
// executes faults one at a time, so two brokers are never down together.
func Schedule(seed uint64, p Profile, brokers int) []Fault {
	rnd := rand.New(rand.NewPCG(seed, 0x736f616b))
	// Faults fall in [5%, 85%] of the producing window: the first records
	// flow before the first fault, and the last fault has ended before the
	// producer does.
	lo, hi := p.Produce/20, p.Produce*17/20
	at := func(from, to time.Duration) time.Duration {
		if to <= from {
			return from
		}
		return from + time.Duration(rnd.Int64N(int64(to-from)))
	}
	dur := func(from, to time.Duration) time.Duration { return at(from, to).Round(100 * time.Millisecond) }
	var out []Fault
	for range p.CasusKills {
		out = append(out, Fault{At: at(lo, hi), Kind: KillCasus, Down: dur(0, 5*time.Second)})
	}
	if brokers >= 2 {
		slot := (hi - lo) / time.Duration(max(p.BrokerRestarts, 1))
		for i := range p.BrokerRestarts {
			kind := StopBroker
			// Both kinds appear whenever there are two or more.
			if i%2 == 1 || (i > 1 && rnd.IntN(2) == 0) {
				kind = KillBroker
			}
			start := lo + time.Duration(i)*slot
			out = append(out, Fault{At: at(start, start+slot/2), Kind: kind, Node: 1 + rnd.IntN(brokers), Down: dur(5*time.Second, 15*time.Second)})
		}
		for range p.LeaderMoves {
			out = append(out, Fault{At: at(lo, hi), Kind: MoveLeaders})
		}
	}
	for range p.ScaleOuts {
		add := at(lo, hi-(hi-lo)/4)
		out = append(out, Fault{At: add, Kind: AddCasus},
			Fault{At: at(add+(hi-lo)/10, min(add+(hi-lo)/4, hi)), Kind: RemoveCasus})
	}
	slices.SortStableFunc(out, func(a, b Fault) int { return int(a.At - b.At) })
	return out
}
