package soak

import (
	"slices"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
)

func TestSchedule(t *testing.T) {
	for _, mode := range []string{"short", "full"} {
		p, err := ProfileOf(mode)
		if err != nil {
			t.Fatal(err)
		}
		for _, brokers := range []int{1, 3} {
			for seed := range uint64(50) {
				fs := Schedule(seed, p, brokers)
				count := map[Kind]int{}
				added := 0
				for i, f := range fs {
					count[f.Kind]++
					if i > 0 && f.At < fs[i-1].At {
						t.Fatalf("%s seed %d: faults out of order: %v", mode, seed, fs)
					}
					if f.At < p.Produce/20 || f.At > p.Produce*17/20 {
						t.Errorf("%s seed %d: %s outside the window", mode, seed, f)
					}
					switch f.Kind {
					case AddCasus:
						added++
					case RemoveCasus:
						added--
						if added < 0 {
							t.Errorf("%s seed %d: a removal before its addition: %v", mode, seed, fs)
						}
					case StopBroker, KillBroker:
						if f.Node < 1 || f.Node > brokers || f.Down < 5*time.Second || f.Down > 15*time.Second {
							t.Errorf("%s seed %d: %s", mode, seed, f)
						}
					}
				}
				wantBroker, wantMoves := p.BrokerRestarts, p.LeaderMoves
				if brokers == 1 {
					wantBroker, wantMoves = 0, 0
				}
				if count[KillCasus] != p.CasusKills || count[StopBroker]+count[KillBroker] != wantBroker ||
					count[MoveLeaders] != wantMoves || count[AddCasus] != p.ScaleOuts || count[RemoveCasus] != p.ScaleOuts {
					t.Errorf("%s seed %d brokers %d: counts %v", mode, seed, brokers, count)
				}
				if wantBroker >= 2 && (count[StopBroker] == 0 || count[KillBroker] == 0) {
					t.Errorf("%s seed %d: broker faults not mixed: %v", mode, seed, count)
				}
				if !slices.Equal(fs, Schedule(seed, p, brokers)) {
					t.Errorf("%s seed %d: the schedule is not a function of the seed", mode, seed)
				}
			}
		}
	}
	if _, err := ProfileOf("long"); err == nil {
		t.Error("ProfileOf(long) = nil error")
	}
}

func TestMalformedKeysAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		k, v := Malformed(i)
		if seen[string(k)] || len(v) == 0 {
			t.Fatalf("Malformed(%d) = %q, %q", i, k, v)
		}
		seen[string(k)] = true
	}
}

func TestMalformedIsRefused(t *testing.T) {
	reg := decode.Default(1 << 20)
	for i := range 8 {
		_, v := Malformed(i)
		var ev event.Event
		if err := reg.Decode("ecs", v, &ev); err == nil {
			t.Errorf("Malformed(%d) = %q decodes as ECS", i, v)
		}
	}
}
