package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/severity"
	"github.com/casus-sec/casus/internal/scenario"
)

// escalationSchema is the published JSON Schema of the records on the
// escalations topic.
const escalationSchema = "../../docs/schema/escalation.v1.json"

// wiperGolden holds escalations and closing events of a small campaign.
const wiperGolden = "../../classify/escalate/testdata/wiper-campaign.golden.ndjson"

// schemaRecord is one record to validate and where it came from.
type schemaRecord struct {
	name string
	raw  []byte
}

// readSchema returns the schema file decoded as the validator reads it.
func readSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(escalationSchema)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", escalationSchema, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", escalationSchema)
	}
	return m
}

// compileSchema compiles doc as draft 2020-12 with format assertions on, so
// that a "time" that is not an RFC 3339 date-time fails.
func compileSchema(t *testing.T, doc map[string]any) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	id, _ := doc["$id"].(string)
	if id == "" {
		t.Fatalf("%s has no $id", escalationSchema)
	}
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile %s: %v", escalationSchema, err)
	}
	return sch
}

func validateRecord(sch *jsonschema.Schema, raw []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// ndjsonRecords splits NDJSON into records named after their source.
func ndjsonRecords(t *testing.T, source string, b []byte) []schemaRecord {
	t.Helper()
	var out []schemaRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		out = append(out, schemaRecord{name: fmt.Sprintf("%s:%d", source, n), raw: bytes.Clone(sc.Bytes())})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scenarioOutputs runs the bundled scenario through the offline pipeline,
// then the same scenario again two days later, so that the first run's
// escalated incidents go quiet past the policy's close_after and close:
// the output holds escalations and closing events.
func scenarioOutputs(t *testing.T, minLevel int) []byte {
	t.Helper()
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	start := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	for _, s := range []time.Time{start, start.Add(48 * time.Hour)} {
		for _, r := range scenario.Generate(scenario.Config{Benign: 500, Start: s}) {
			in.Write(r.Value)
			in.WriteByte('\n')
		}
	}
	var out, errw bytes.Buffer
	sum, err := Classify(&in, know, ClassifyOptions{Format: "ecs", Source: "scenario", MinLevel: minLevel, Stdout: &out, Stderr: &errw})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bad != 0 || sum.Escalations == 0 || sum.Closed == 0 {
		t.Fatalf("scenario run: %+v (stderr %q); want escalations and closing events", sum, errw.String())
	}
	return out.Bytes()
}

// schemaCorpus is every record the schema must accept: the escalate
// package's golden file and the offline pipeline's output for the bundled
// scenario, at the default minimum level and at 0.
func schemaCorpus(t *testing.T) []schemaRecord {
	t.Helper()
	golden, err := os.ReadFile(wiperGolden)
	if err != nil {
		t.Fatal(err)
	}
	recs := ndjsonRecords(t, wiperGolden, golden)
	recs = append(recs, ndjsonRecords(t, "scenario(min level 1)", scenarioOutputs(t, 1))...)
	recs = append(recs, ndjsonRecords(t, "scenario(min level 0)", scenarioOutputs(t, 0))...)
	return recs
}

// kinds counts records by CloudEvents type.
func kinds(t *testing.T, recs []schemaRecord) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, r := range recs {
		var env struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(r.raw, &env); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		n[env.Type]++
	}
	return n
}

func TestSchemaAcceptsPublishedRecords(t *testing.T) {
	sch := compileSchema(t, readSchema(t))
	recs := schemaCorpus(t)
	for _, r := range recs {
		if err := validateRecord(sch, r.raw); err != nil {
			t.Errorf("%s does not match %s:\n%v", r.name, escalationSchema, err)
		}
		// What the schema cannot say: the subject is the incident.
		var env struct {
			Subject string `json:"subject"`
			Data    struct {
				IncidentID string `json:"incident_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.raw, &env); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if env.Subject != env.Data.IncidentID {
			t.Errorf("%s: subject %q is not data.incident_id %q", r.name, env.Subject, env.Data.IncidentID)
		}
	}
	n := kinds(t, recs)
	if n[escalate.EventType] == 0 || n[escalate.ClosedType] == 0 || len(n) != 2 {
		t.Errorf("record kinds %v: want both %s and %s, nothing else", n, escalate.EventType, escalate.ClosedType)
	}
	bySource := map[string]int{}
	for _, r := range recs {
		bySource[r.name[:strings.LastIndexByte(r.name, ':')]]++
	}
	t.Logf("validated %d records: %v; by source %v", len(recs), n, bySource)
}

// TestSchemaDeclaresOnlyWhatIsPublished removes, one at a time, each property
// of every object the schema closes (additionalProperties false) and expects
// some published record to fail without it. A property no record carries is
// reported: either the schema declares a field casus no longer writes, or
// the corpus lacks a case that writes it.
func TestSchemaDeclaresOnlyWhatIsPublished(t *testing.T) {
	doc := readSchema(t)
	recs := schemaCorpus(t)
	var paths [][]string
	closedObjects(doc, nil, &paths)
	if len(paths) < 40 {
		t.Fatalf("found only %d closed properties in the schema; the walk is broken", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(p, "/"), func(t *testing.T) {
			cut := deepCopy(doc).(map[string]any)
			props := at(t, cut, p[:len(p)-1])
			delete(props, p[len(p)-1])
			sch := compileSchema(t, cut)
			for _, r := range recs {
				if validateRecord(sch, r.raw) != nil {
					return
				}
			}
			t.Errorf("no published record fails without %s", strings.Join(p, "/"))
		})
	}
}

// closedObjects appends the path of each property of every schema object
// that has additionalProperties false.
func closedObjects(v any, path []string, out *[][]string) {
	switch v := v.(type) {
	case map[string]any:
		if ap, ok := v["additionalProperties"].(bool); ok && !ap {
			if props, ok := v["properties"].(map[string]any); ok {
				keys := make([]string, 0, len(props))
				for k := range props {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					*out = append(*out, append(slices.Clone(path), "properties", k))
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			closedObjects(v[k], append(slices.Clone(path), k), out)
		}
	case []any:
		for i, e := range v {
			closedObjects(e, append(slices.Clone(path), fmt.Sprint(i)), out)
		}
	}
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// at walks doc along path (object keys only) to an object.
func at(t *testing.T, doc map[string]any, path []string) map[string]any {
	t.Helper()
	cur := doc
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("schema has no object at %s", strings.Join(path, "/"))
		}
		cur = next
	}
	return cur
}

// TestSchemaEnumsMatchCode compares the schema's fixed values with the
// constants casus writes, so that a new candidacy, sector or level name
// cannot be published unannounced.
func TestSchemaEnumsMatchCode(t *testing.T) {
	doc := readSchema(t)
	strs := func(path ...string) []string {
		t.Helper()
		parent := at(t, doc, path[:len(path)-1])
		raw, ok := parent[path[len(path)-1]].([]any)
		if !ok {
			t.Fatalf("schema has no array at %s", strings.Join(path, "/"))
		}
		out := make([]string, len(raw))
		for i, r := range raw {
			out[i] = fmt.Sprint(r)
		}
		return out
	}
	var levelNames []string
	for l := range 6 {
		levelNames = append(levelNames, severity.LevelName(l))
	}
	for _, tc := range []struct {
		path []string
		want []string
	}{
		{[]string{"properties", "type", "enum"}, []string{escalate.EventType, escalate.ClosedType}},
		{[]string{"$defs", "candidacy", "enum"}, []string{string(severity.CandidacyNone), string(severity.CandidacySignificant), string(severity.CandidacyAACPending), string(severity.CandidacyAAC)}},
		{[]string{"$defs", "sector", "enum"}, assets.Sectors()},
		{[]string{"$defs", "levelName", "enum"}, levelNames},
		{[]string{"$defs", "escalation", "properties", "decision", "enum"}, []string{escalate.DecisionConsultation, escalate.DecisionConsultation + "; attribution pending"}},
	} {
		if got := strs(tc.path...); !slices.Equal(got, tc.want) {
			t.Errorf("%s = %q, code has %q", strings.Join(tc.path, "/"), got, tc.want)
		}
	}
}

// TestSchemaRejects mutates valid records and expects each to fail.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t, readSchema(t))
	golden, err := os.ReadFile(wiperGolden)
	if err != nil {
		t.Fatal(err)
	}
	recs := append(ndjsonRecords(t, wiperGolden, golden), ndjsonRecords(t, "scenario", scenarioOutputs(t, 1))...)
	// Pick an escalation with every optional part (checklist, decision,
	// transition, campaign) and a closing event.
	var esc, closed map[string]any
	for _, r := range recs {
		var m map[string]any
		if err := json.Unmarshal(r.raw, &m); err != nil {
			t.Fatal(err)
		}
		d := m["data"].(map[string]any)
		switch {
		case m["type"] == escalate.ClosedType && closed == nil:
			closed = m
		case m["type"] == escalate.EventType && esc == nil &&
			d["decision"] != nil && d["transition"] != nil && d["campaign"] != nil && d["checklist"] != nil:
			esc = m
		}
	}
	if esc == nil || closed == nil {
		t.Fatal("no escalation with a decision, a transition and a campaign, or no closing event, to mutate")
	}
	for _, base := range []map[string]any{esc, closed} {
		if err := validateRecord(sch, mustJSON(t, base)); err != nil {
			t.Fatalf("base record does not validate: %v", err)
		}
	}

	del := struct{}{} // marks a field to delete
	for _, tc := range []struct {
		name  string
		base  map[string]any
		edits map[string]any // slash path → new value, or del
		want  string         // in the validator's message: the intended check failed
	}{
		{"missing id", esc, map[string]any{"id": del}, "missing property 'id'"},
		{"missing data.rationale", esc, map[string]any{"data/rationale": del}, "missing property 'rationale'"},
		{"missing data.policy.version", esc, map[string]any{"data/policy/version": del}, "missing property 'version'"},
		{"missing data.targets.organisation", esc, map[string]any{"data/targets/organisation": del}, "missing property 'organisation'"},
		{"level as a string", esc, map[string]any{"data/level": "4"}, "at '/data/level': got string, want integer"},
		{"score as a string", esc, map[string]any{"data/score": "80.4"}, "at '/data/score': got string, want number"},
		{"tactics as a string", esc, map[string]any{"data/tactics": "TA0040"}, "at '/data/tactics': got string, want array"},
		{"fractional level", esc, map[string]any{"data/level": 4.5}, "at '/data/level': got number, want integer"},
		{"unknown candidacy", esc, map[string]any{"data/candidacy": "armed-attack"}, "at '/data/candidacy': value must be one of"},
		{"level 6", esc, map[string]any{"data/level": 6}, "at '/data/level': maximum: got 6, want 5"},
		{"negative level", esc, map[string]any{"data/previous_level": -1}, "at '/data/previous_level': minimum: got -1, want 0"},
		{"level name of another level", esc, map[string]any{"data/level_name": "Low"}, "'oneOf' failed, none matched"},
		{"extra top-level property", esc, map[string]any{"extra": true}, "additional properties 'extra' not allowed"},
		{"extra data property", esc, map[string]any{"data/verdict": "armed attack"}, "additional properties 'verdict' not allowed"},
		{"extra factor property", esc, map[string]any{"data/factors/0/note": "x"}, "additional properties 'note' not allowed"},
		{"bad time", esc, map[string]any{"time": "yesterday"}, "at '/time': 'yesterday' is not valid date-time"},
		{"time without a zone", esc, map[string]any{"time": "2026-03-02T11:00:00"}, "at '/time': '2026-03-02T11:00:00' is not valid date-time"},
		{"bad window time", esc, map[string]any{"data/window/first_seen": "2026-13-02T08:00:00Z"}, "at '/data/window/first_seen': '2026-13-02T08:00:00Z' is not valid date-time"},
		{"bad evidence time", esc, map[string]any{"data/evidence/0/record/event_time": "03/02/2026"}, "at '/data/evidence/0/record/event_time': '03/02/2026' is not valid date-time"},
		{"unknown specversion", esc, map[string]any{"specversion": "0.3"}, "at '/specversion': value must be '1.0'"},
		{"unknown type", esc, map[string]any{"type": "casus.escalation.v2"}, "at '/type': value must be one of"},
		{"closed id on an escalation", esc, map[string]any{"id": "esc-closed-14a66824acca879b600fc2ed"}, "does not match pattern '^esc-[0-9a-f]{24}$'"},
		{"subject not an incident id", esc, map[string]any{"subject": "Harbor Bank"}, "at '/subject': 'Harbor Bank' does not match pattern"},
		{"unknown functional impact", esc, map[string]any{"data/functional_impact": "catastrophic"}, "at '/data/functional_impact': value must be one of"},
		{"unknown class", esc, map[string]any{"data/class": "benign"}, "at '/data/class': value must be one of"},
		{"unknown sector", esc, map[string]any{"data/targets/sector": "banking"}, "at '/data/targets/sector': value must be one of"},
		{"score over 100", esc, map[string]any{"data/score": 100.5}, "at '/data/score': maximum: got 100.5, want 100"},
		{"state nexus over 1", esc, map[string]any{"data/sources/state_nexus_confidence": 1.5}, "at '/data/sources/state_nexus_confidence': maximum: got 1.5, want 1"},
		{"seven factors", esc, map[string]any{"data/factors/7": del}, "at '/data/factors': minItems: got 7, want 8"},
		{"candidate without a decision", esc, map[string]any{"data/decision": del}, "missing property 'decision'"},
		{"candidate with the pending decision", esc, map[string]any{"data/decision": escalate.DecisionConsultation + "; attribution pending"}, "at '/data/decision': value must be 'case-by-case consultation required'"},
		{"decision without candidacy", esc, map[string]any{"data/candidacy": "significant"}, "at '/data': 'not' failed"},
		{"level 3 without a checklist", esc, map[string]any{"data/checklist": del}, "missing property 'checklist'"},
		{"checklist below level 3", esc, map[string]any{"data/level": 2, "data/level_name": "Medium", "data/candidacy": "none", "data/decision": del}, "at '/data': 'not' failed"},
		{"campaign of one incident", esc, map[string]any{"data/campaign/incidents": 1}, "at '/data/campaign/incidents': minimum: got 1, want 2"},
		{"unknown campaign link", esc, map[string]any{"data/campaign/linked_by/0": "sector"}, "at '/data/campaign/linked_by/0': value must be one of"},
		{"closing data on an escalation", esc, map[string]any{"data": closed["data"]}, "at '/data': additional properties"},
		{"closed: unknown reason", closed, map[string]any{"data/reason": "expired"}, "at '/data/reason': value must be one of 'quiet', 'evicted'"},
		{"closed: missing closed_at", closed, map[string]any{"data/closed_at": del}, "missing property 'closed_at'"},
		{"closed: bad last_seen", closed, map[string]any{"data/last_seen": "never"}, "at '/data/last_seen': 'never' is not valid date-time"},
		{"closed: escalation id", closed, map[string]any{"id": "esc-4bc13e53a5d5ff3d5a07c870"}, "does not match pattern '^esc-closed-[0-9a-f]{24}$'"},
		{"closed: escalation data", closed, map[string]any{"data": esc["data"]}, "additional properties"},
		{"closed: level 6", closed, map[string]any{"data/level": 6, "data/level_name": "Emergency"}, "at '/data/level': maximum: got 6, want 5"},
		{"closed: extra property", closed, map[string]any{"data/score": 99}, "additional properties 'score' not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := deepCopy(tc.base).(map[string]any)
			for path, v := range tc.edits {
				edit(t, m, strings.Split(path, "/"), v, v == del)
			}
			err := validateRecord(sch, mustJSON(t, m))
			switch {
			case err == nil:
				t.Errorf("accepted: %s", mustJSON(t, m))
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("rejected, but not with %q:\n%v", tc.want, err)
			}
		})
	}
}

// edit sets (or deletes) the value at path in a decoded JSON document;
// numeric path elements index arrays.
func edit(t *testing.T, doc map[string]any, path []string, v any, remove bool) {
	t.Helper()
	var cur any = doc
	for i, k := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if remove {
					if _, ok := c[k]; !ok {
						t.Fatalf("nothing to delete at %s", strings.Join(path, "/"))
					}
					delete(c, k)
				} else {
					c[k] = deepCopy(v)
				}
				return
			}
			cur = c[k]
		case []any:
			var n int
			if _, err := fmt.Sscan(k, &n); err != nil || n < 0 || n >= len(c) {
				t.Fatalf("bad index %q in %s", k, strings.Join(path, "/"))
			}
			if last {
				if remove {
					// Only the last element can go without renumbering.
					if n != len(c)-1 {
						t.Fatalf("can delete only the last element at %s", strings.Join(path, "/"))
					}
					parent := at(t, doc, path[:len(path)-2])
					parent[path[len(path)-2]] = c[:n]
				} else {
					c[n] = deepCopy(v)
				}
				return
			}
			cur = c[n]
		default:
			t.Fatalf("no container at %s", strings.Join(path[:i+1], "/"))
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
