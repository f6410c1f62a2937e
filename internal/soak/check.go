package soak

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Record is a record read back from a topic.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
}

// Position is where a record sits in its topic.
type Position struct {
	Topic     string
	Partition int
	Offset    int64
}

func (p Position) String() string { return fmt.Sprintf("%s/%d@%d", p.Topic, p.Partition, p.Offset) }

// Dead-letter headers naming the record a dead letter stands for (see
// docs/operations.md).
const (
	headerReason          = "casus.reason"
	headerSourceTopic     = "casus.source.topic"
	headerSourcePartition = "casus.source.partition"
	headerSourceOffset    = "casus.source.offset"
)

// Normalize returns an escalation's id and the body the checker compares:
// the CloudEvents JSON with the source blanked (it names the consumer
// group) and the evidence's topic, partition and offset dropped (they say
// where the record sat, which differs between a file read offline and a
// topic, and between two writes of one record). The rest, event times
// included, must be identical.
func Normalize(value []byte) (id, body string, err error) {
	var e map[string]any
	if err := json.Unmarshal(value, &e); err != nil {
		return "", "", fmt.Errorf("escalation is not JSON: %w", err)
	}
	id, _ = e["id"].(string)
	if id == "" {
		return "", "", fmt.Errorf("escalation without an id: %.200s", value)
	}
	e["source"] = ""
	if data, ok := e["data"].(map[string]any); ok {
		if ev, ok := data["evidence"].([]any); ok {
			for _, item := range ev {
				if it, ok := item.(map[string]any); ok {
					if rec, ok := it["record"].(map[string]any); ok {
						delete(rec, "topic")
						delete(rec, "partition")
						delete(rec, "offset")
					}
				}
			}
		}
	}
	b, err := json.Marshal(e) // maps marshal with sorted keys: a canonical form
	if err != nil {
		return "", "", fmt.Errorf("marshal escalation %s: %w", id, err)
	}
	return id, string(b), nil
}

// Truth is what a run should publish.
type Truth struct {
	// Escalations maps each expected escalation id to its normalized body.
	Escalations map[string]string
	// Malformed holds the keys of the malformed records sent, one key per
	// record.
	Malformed map[string]bool
}

// Observed is what the run published, read back after it settled.
type Observed struct {
	Escalations []Record
	DeadLetters []Record
	// Telemetry is the input topic as written, for the positions of the
	// malformed records (a retried write may have stored one twice).
	Telemetry []Record
}

// Verdict counts the output against the truth.
type Verdict struct {
	Expected    int
	Present     int      // expected ids published at least once
	Missing     []string // expected ids never published
	Duplicates  int      // repeats of an id with an identical body
	Conflicting []string // ids published with two different bodies
	Differing   []string // ids published with a body other than the expected one
	Unexpected  []string // ids published but not expected
	Invalid     int      // escalation records that are not an escalation

	MalformedSent    int      // distinct malformed records sent
	MalformedDead    int      // distinct malformed records dead-lettered
	MalformedMissing []string // keys of malformed records without a dead letter
	DeadRepeats      int      // dead letters beyond the first of a malformed record
	DeadStray        []string // dead letters that stand for no malformed record
	DeadReasons      map[string]int
	InputDuplicates  int // records stored more than once in the input topic
}

// Check compares what a run published with the truth.
func Check(truth Truth, obs Observed) Verdict {
	v := Verdict{Expected: len(truth.Escalations), MalformedSent: len(truth.Malformed), DeadReasons: map[string]int{}}
	seen := map[string]string{}
	conflicting, differing := map[string]bool{}, map[string]bool{}
	for _, r := range obs.Escalations {
		id, body, err := Normalize(r.Value)
		if err != nil {
			v.Invalid++
			continue
		}
		if prev, ok := seen[id]; ok {
			if prev == body {
				v.Duplicates++
			} else {
				conflicting[id] = true
			}
			continue
		}
		seen[id] = body
		want, ok := truth.Escalations[id]
		switch {
		case !ok:
			v.Unexpected = append(v.Unexpected, id)
		case want != body:
			differing[id] = true
		}
	}
	for id := range truth.Escalations {
		if _, ok := seen[id]; ok {
			v.Present++
		} else {
			v.Missing = append(v.Missing, id)
		}
	}
	v.Conflicting, v.Differing = sortedKeys(conflicting), sortedKeys(differing)

	// Which input position holds which malformed record.
	at := map[Position]string{}
	stored := map[string]int{}
	for _, r := range obs.Telemetry {
		stored[string(r.Key)+"\x00"+string(r.Value)]++
		if k := string(r.Key); truth.Malformed[k] {
			at[Position{r.Topic, r.Partition, r.Offset}] = k
		}
	}
	for _, n := range stored {
		v.InputDuplicates += n - 1
	}
	dead := map[string]int{}
	for _, r := range obs.DeadLetters {
		v.DeadReasons[r.Headers[headerReason]]++
		p, ok := sourceOf(r)
		k, known := at[p]
		if !ok || !known {
			v.DeadStray = append(v.DeadStray, fmt.Sprintf("%s key %q reason %s", p, r.Key, r.Headers[headerReason]))
			continue
		}
		dead[k]++
	}
	for k := range truth.Malformed {
		switch n := dead[k]; {
		case n == 0:
			v.MalformedMissing = append(v.MalformedMissing, k)
		default:
			v.MalformedDead++
			v.DeadRepeats += n - 1
		}
	}
	slices.Sort(v.Missing)
	slices.Sort(v.Unexpected)
	slices.Sort(v.MalformedMissing)
	return v
}

func sourceOf(r Record) (Position, bool) {
	var p Position
	p.Topic = r.Headers[headerSourceTopic]
	_, err1 := fmt.Sscan(r.Headers[headerSourcePartition], &p.Partition)
	_, err2 := fmt.Sscan(r.Headers[headerSourceOffset], &p.Offset)
	return p, p.Topic != "" && err1 == nil && err2 == nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Failures lists why the verdict fails a run; empty when it passes.
func (v Verdict) Failures() []string {
	var out []string
	add := func(cond bool, format string, args ...any) {
		if cond {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	add(v.Expected == 0, "the ground truth has no escalation: the check would prove nothing")
	add(len(v.Missing) > 0, "%d expected escalations missing: %s", len(v.Missing), short(v.Missing))
	add(len(v.Conflicting) > 0, "%d escalation ids published with different bodies: %s", len(v.Conflicting), short(v.Conflicting))
	add(len(v.Differing) > 0, "%d escalations differ from the expected body: %s", len(v.Differing), short(v.Differing))
	add(len(v.Unexpected) > 0, "%d unexpected escalations: %s", len(v.Unexpected), short(v.Unexpected))
	add(v.Invalid > 0, "%d records on the escalation topic are not escalations", v.Invalid)
	add(v.MalformedDead != v.MalformedSent, "%d malformed records sent, %d dead-lettered; not dead-lettered: %s",
		v.MalformedSent, v.MalformedDead, short(v.MalformedMissing))
	add(len(v.DeadStray) > 0, "%d dead letters stand for no malformed record: %s", len(v.DeadStray), short(v.DeadStray))
	return out
}

func short(xs []string) string {
	if len(xs) > 10 {
		return strings.Join(xs[:10], ", ") + fmt.Sprintf(" and %d more", len(xs)-10)
	}
	return strings.Join(xs, ", ")
}

// Run is what the runner did and saw, for the report.
type Run struct {
	Mode     string
	Seed     uint64
	Duration time.Duration
	Rate     int
	// Produced counts distinct records sent (acknowledged), Malformed
	// among them; ProduceRetries counts records sent again after a failed
	// write.
	Produced, ProduceRetries int
	// MaxLag is the largest lag seen of each role's group, in records.
	MaxLag         map[string]int64
	LagSamples     int
	CasusRestarts  int // casus processes killed with SIGKILL and replaced
	BrokerRestarts int
	Rebalances     int // group membership changes caused: kills, restarts, additions, removals
	LeaderMoves    int // partitions of the escalation topic whose leader moved
	// Crashes describes the casus processes that exited on their own
	// (each was started again, as a supervisor would).
	Crashes []string
	Faults  []string
}

// Report is a run and its verdict.
type Report struct {
	Run     Run
	Verdict Verdict
}

// Markdown renders the report as a markdown table, with the verdict last.
func (r Report) Markdown() string {
	v, run := r.Verdict, r.Run
	var b strings.Builder
	fmt.Fprintf(&b, "### casus soak (%s), seed %d\n\n", run.Mode, run.Seed)
	b.WriteString("| measure | value |\n|---|---|\n")
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(&b, "| %s | %s |\n", k, fmt.Sprintf(format, args...))
	}
	row("expected escalations", "%d", v.Expected)
	row("present", "%d", v.Present)
	row("missing (must be 0)", "%d", len(v.Missing))
	row("duplicates, identical id and body", "%d", v.Duplicates)
	row("ids with conflicting bodies (must be 0)", "%d", len(v.Conflicting))
	row("bodies differing from expected (must be 0)", "%d", len(v.Differing))
	row("unexpected (must be 0)", "%d", len(v.Unexpected))
	row("malformed records sent", "%d", v.MalformedSent)
	row("malformed records dead-lettered, distinct (must equal sent)", "%d", v.MalformedDead)
	row("dead letters repeated (replays)", "%d", v.DeadRepeats)
	row("dead letters of no malformed record (must be 0)", "%d", len(v.DeadStray))
	row("dead-letter reasons", "%s", reasons(v.DeadReasons))
	lags := make([]string, 0, len(run.MaxLag))
	for _, g := range sortedLagKeys(run.MaxLag) {
		lags = append(lags, fmt.Sprintf("%s %d", g, run.MaxLag[g]))
	}
	row("max consumer lag, records (admin offsets, every 5s)", "%s (%d samples)", strings.Join(lags, ", "), run.LagSamples)
	row("casus processes killed and restarted", "%d", run.CasusRestarts)
	row("casus processes that exited on their own (restarted)", "%d", len(run.Crashes))
	row("broker restarts", "%d", run.BrokerRestarts)
	row("rebalances (membership changes)", "%d", run.Rebalances)
	row("escalation partition leader moves", "%d", run.LeaderMoves)
	row("records produced", "%d at %d/s", run.Produced, run.Rate)
	row("produce retries (records)", "%d", run.ProduceRetries)
	row("records stored twice in the input", "%d", v.InputDuplicates)
	row("duration", "%s", run.Duration.Round(time.Second))
	if len(run.Crashes) > 0 {
		b.WriteString("\nProcesses that exited on their own:\n\n")
		for _, c := range run.Crashes {
			fmt.Fprintf(&b, "- `%s`\n", strings.ReplaceAll(c, "`", "'"))
		}
	}
	f := v.Failures()
	if n := len(run.Crashes); n > 0 {
		f = append(f, fmt.Sprintf("%d casus processes exited on their own", n))
	}
	if len(f) > 0 {
		b.WriteString("\n**FAIL**\n\n")
		for _, s := range f {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	} else {
		b.WriteString("\n**PASS**\n")
	}
	return b.String()
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func sortedLagKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
