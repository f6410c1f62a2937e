package campaign_test

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/internal/yamlpos"
	"github.com/casus-sec/casus/classify/severity"
)

// TestScript runs the correlation and escalation scripts of
// testdata/scripts (format: testdata/README.md), one subtest per file.
func TestScript(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scripts", "*.test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata/scripts")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".test"), func(t *testing.T) {
			t.Parallel()
			runScript(t, file)
		})
	}
}

// knownFailure marks a script that shows a defect of casus: its first line
// is "# known-failure: <reason>".
const knownFailure = "# known-failure:"

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	s := &script{file: file, logf: t.Logf, minLevel: 1, vars: map[string]string{}, orgOf: map[string]string{}}
	if first := strings.TrimSpace(lines[0]); strings.HasPrefix(first, knownFailure) {
		s.known = strings.TrimSpace(strings.TrimPrefix(first, knownFailure))
		if s.known == "" {
			t.Fatalf("%s:1: known-failure needs a reason", file)
		}
	}
	if err := s.run(lines); err != nil {
		t.Fatal(err) // a script error, never excused by known-failure
	}
	switch {
	case s.known != "" && len(s.fails) == 0:
		t.Errorf("%s: marked known-failure (%s) but passes: remove the marker", file, s.known)
	case s.known != "":
		for _, f := range s.fails {
			t.Log(f)
		}
		t.Skipf("known failure: %s", s.known)
	default:
		for _, f := range s.fails {
			t.Error(f)
		}
	}
}

// script is one script being run.
type script struct {
	file  string
	known string
	logf  func(format string, args ...any)
	fails []string

	assetLines []srcLine
	intelLines []srcLine
	policyKV   []attr
	policyLine int
	lateness   time.Duration
	minLevel   int

	chain   *campaign.Chain
	now     time.Time
	flushed bool
	seq     int64
	queue   []output
	vars    map[string]string
	orgOf   map[string]string // incident id → organisation, from escalations
}

// srcLine is a setup line and where it is.
type srcLine struct {
	line  int
	attrs []attr
	head  string // the address, cidr or host
}

// attr is key op value; op is one of = != ~ < <= > >=.
type attr struct {
	key, op, val string
}

// output is an escalation or closing event as the script sees it.
type output struct {
	kind  string // escalation | closed
	attrs map[string]string
	from  int // script line whose input released it
}

func (s *script) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", s.file, line, fmt.Sprintf(format, args...))
}

func (s *script) failf(line int, format string, args ...any) {
	s.fails = append(s.fails, fmt.Sprintf("%s:%d: %s", s.file, line, fmt.Sprintf(format, args...)))
}

func (s *script) run(lines []string) error {
	for i, raw := range lines {
		n := i + 1
		toks, err := tokenize(raw)
		if err != nil {
			return s.errorf(n, "%v", err)
		}
		if len(toks) == 0 {
			continue
		}
		if err := s.line(n, raw, toks); err != nil {
			return err
		}
	}
	if err := s.start(); err != nil {
		return err
	}
	if !s.flushed {
		s.push(len(lines), s.chain.Flush())
	}
	for _, o := range s.queue {
		s.failf(o.from, "unexpected output at end of script: %s", o.render(false))
	}
	return nil
}

func (s *script) line(n int, raw string, toks []string) error {
	switch toks[0] {
	case "asset", "intel":
		if s.chain != nil {
			return s.errorf(n, "%s must come before the first at, flush or expect", toks[0])
		}
		for _, x := range expand(raw) {
			t, err := tokenize(x)
			if err != nil {
				return s.errorf(n, "%v", err)
			}
			if len(t) < 2 {
				return s.errorf(n, "%s needs an address, cidr or host", t[0])
			}
			as, err := parseAttrs(t[2:], false)
			if err != nil {
				return s.errorf(n, "%v", err)
			}
			l := srcLine{line: n, attrs: as, head: t[1]}
			if t[0] == "asset" {
				s.assetLines = append(s.assetLines, l)
			} else {
				s.intelLines = append(s.intelLines, l)
			}
		}
	case "policy":
		if s.chain != nil {
			return s.errorf(n, "policy must come before the first at, flush or expect")
		}
		as, err := parseAttrs(toks[1:], false)
		if err != nil {
			return s.errorf(n, "%v", err)
		}
		if len(as) == 0 {
			return s.errorf(n, "policy needs key=value overrides")
		}
		s.policyKV, s.policyLine = append(s.policyKV, as...), n
	case "lateness":
		if s.chain != nil || len(toks) != 2 {
			return s.errorf(n, "usage: lateness <duration>, before the first at")
		}
		d, err := parseDuration(toks[1])
		if err != nil || d < 0 {
			return s.errorf(n, "lateness %q: not a duration", toks[1])
		}
		s.lateness = d
	case "min_level":
		if s.chain != nil || len(toks) != 2 {
			return s.errorf(n, "usage: min_level <0..5>, before the first at")
		}
		v, err := strconv.Atoi(toks[1])
		if err != nil || v < 0 || v > 5 {
			return s.errorf(n, "min_level %q: want 0..5", toks[1])
		}
		s.minLevel = v
	case "at":
		return s.at(n, raw, toks)
	case "flush":
		if len(toks) != 1 {
			return s.errorf(n, "flush takes nothing")
		}
		if err := s.start(); err != nil {
			return err
		}
		if s.flushed {
			return s.errorf(n, "flushed twice")
		}
		s.flushed = true
		s.push(n, s.chain.Flush())
	case "expect":
		if err := s.start(); err != nil {
			return err
		}
		return s.expect(n, toks[1:])
	default:
		return s.errorf(n, "unknown command %q (asset, intel, policy, lateness, min_level, at, flush, expect)", toks[0])
	}
	return nil
}

// start builds the chain from the setup lines, once.
func (s *script) start() error {
	if s.chain != nil {
		return nil
	}
	inv, err := s.inventory()
	if err != nil {
		return err
	}
	in, err := s.intel()
	if err != nil {
		return err
	}
	pol := severity.Default()
	if len(s.policyKV) > 0 {
		var b strings.Builder
		b.WriteString("name: casus-script\nversion: \"1\"\n")
		for _, a := range s.policyKV {
			fmt.Fprintf(&b, "%s: %s\n", a.key, a.val)
		}
		p, err := severity.Parse("policy", []byte(b.String()))
		if err != nil {
			return s.errorf(s.policyLine, "policy: %v", err)
		}
		pol = p
	}
	s.chain = campaign.NewChain(
		correlate.Options{Assets: inv, Intel: in, Policy: pol},
		campaign.Options{Policy: pol, Ladder: escalate.Options{Source: "casus/script", MinLevel: s.minLevel, Policy: pol}},
		s.lateness)
	return nil
}

// inventory writes the asset lines as the YAML classify/assets parses.
func (s *script) inventory() (*assets.Inventory, error) {
	var b strings.Builder
	b.WriteString("assets:\n")
	keys := map[string]string{"org": "organisation", "sector": "sector", "tier": "tier", "location": "location", "role": "role"}
	starts, err := s.yamlItems(&b, s.assetLines, "cidr", "host", keys)
	if err != nil {
		return nil, err
	}
	inv, err := assets.Parse("assets", []byte(b.String()))
	if err != nil {
		return nil, s.yamlError("asset", starts, err)
	}
	return inv, nil
}

// intel writes the intel lines as the YAML classify/intel parses.
func (s *script) intel() (*intel.Intel, error) {
	var b strings.Builder
	b.WriteString("indicators:\n")
	keys := map[string]string{"actor": "actor", "kind": "kind", "nexus": "state_nexus", "basis": "basis", "sponsor": "sponsor"}
	starts, err := s.yamlItems(&b, s.intelLines, "cidr", "address", keys)
	if err != nil {
		return nil, err
	}
	in, err := intel.Parse("intel", []byte(b.String()))
	if err != nil {
		return nil, s.yamlError("intel", starts, err)
	}
	return in, nil
}

// yamlItems writes one list item per line and returns, per item, its first
// YAML line and its script line.
func (s *script) yamlItems(b *strings.Builder, ls []srcLine, cidrKey, otherKey string, keys map[string]string) ([][2]int, error) {
	var starts [][2]int
	y := 2
	for _, l := range ls {
		starts = append(starts, [2]int{y, l.line})
		key := otherKey
		if _, err := netip.ParsePrefix(l.head); err == nil {
			key = cidrKey
		} else if _, err := netip.ParseAddr(l.head); err == nil && cidrKey == "cidr" && otherKey == "host" {
			key = cidrKey // a bare address is a /32 asset
		}
		fmt.Fprintf(b, "  - %s: %s\n", key, strconv.Quote(l.head))
		y++
		for _, a := range l.attrs {
			k, ok := keys[a.key]
			if !ok {
				return nil, s.errorf(l.line, "unknown attribute %q (want one of %s)", a.key, strings.Join(sortedKeys(keys), ", "))
			}
			v := a.val
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				v = strconv.Quote(v)
			}
			fmt.Fprintf(b, "    %s: %s\n", k, v)
			y++
		}
	}
	return starts, nil
}

// yamlError points each problem of a generated YAML file at its script line.
func (s *script) yamlError(what string, starts [][2]int, err error) error {
	var errs []error
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		errs = multi.Unwrap()
	} else {
		errs = []error{err}
	}
	var msgs []string
	for _, e := range errs {
		line := 0
		var pe *yamlpos.Error
		if errors.As(e, &pe) {
			for _, st := range starts {
				if st[0] <= pe.Line {
					line = st[1]
				}
			}
			e = pe.Err
		}
		msgs = append(msgs, fmt.Sprintf("%s:%d: %s: %v", s.file, line, what, e))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

var repeatRE = regexp.MustCompile(`^x([0-9]+)$`)

// at runs an input line: at <time> [xN] signal attrs... | at <time> [xN] tick.
func (s *script) at(n int, raw string, toks []string) error {
	if s.flushed {
		return s.errorf(n, "at after flush")
	}
	if err := s.start(); err != nil {
		return err
	}
	if len(toks) < 3 {
		return s.errorf(n, "usage: at <time|+duration> [xN] signal key=value... | tick")
	}
	times := 1
	verb := 2
	if m := repeatRE.FindStringSubmatch(toks[2]); m != nil {
		times, _ = strconv.Atoi(m[1])
		verb = 3
		if times < 1 || !strings.HasPrefix(toks[1], "+") {
			return s.errorf(n, "repetition %s needs a relative time (+duration) and a count of at least 1", toks[2])
		}
	}
	if len(toks) <= verb || (toks[verb] != "signal" && toks[verb] != "tick") {
		return s.errorf(n, "at needs signal or tick")
	}
	if toks[verb] == "tick" && len(toks) > verb+1 {
		return s.errorf(n, "tick takes nothing")
	}
	for i := 1; i <= times; i++ {
		if err := s.advance(n, toks[1]); err != nil {
			return err
		}
		if toks[verb] == "signal" {
			line := strings.ReplaceAll(raw, "{n}", strconv.Itoa(i))
			for _, x := range expand(line) {
				t, err := tokenize(x)
				if err != nil {
					return s.errorf(n, "%v", err)
				}
				sig, err := s.signal(t[verb+1:])
				if err != nil {
					return s.errorf(n, "%v", err)
				}
				s.chain.Signal(sig)
			}
		}
		s.push(n, s.chain.Tick(s.now))
	}
	return nil
}

// advance moves the input time to an absolute time or by +duration.
func (s *script) advance(n int, spec string) error {
	if rest, ok := strings.CutPrefix(spec, "+"); ok {
		if s.now.IsZero() {
			return s.errorf(n, "relative time %s before any absolute time", spec)
		}
		d, err := parseDuration(rest)
		if err != nil || d < 0 {
			return s.errorf(n, "time %q: not a duration", spec)
		}
		s.now = s.now.Add(d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, spec)
	if err != nil {
		return s.errorf(n, "time %q: want RFC 3339 or +duration", spec)
	}
	s.now = t.UTC()
	return nil
}

func (s *script) signal(toks []string) (event.Signal, error) {
	as, err := parseAttrs(toks, false)
	if err != nil {
		return event.Signal{}, err
	}
	s.seq++
	sig := event.Signal{RuleID: "script-rule", RuleLevel: "high", Time: s.now, Count: 1,
		Evidence: event.Evidence{Topic: filepath.Base(s.file), Offset: s.seq}}
	for _, a := range as {
		switch a.key {
		case "rule":
			sig.RuleID = a.val
		case "title":
			sig.RuleTitle = a.val
		case "level":
			sig.RuleLevel = a.val
		case "class":
			sig.Class = event.Class(a.val)
			if sig.Class.Rank() == 0 && sig.Class != event.ClassBenign {
				return sig, fmt.Errorf("class %q: want benign, reconnaissance, intrusion or destructive", a.val)
			}
		case "tactics":
			sig.Tactics = strings.Split(a.val, ",")
		case "techniques":
			sig.Techniques = strings.Split(a.val, ",")
		case "source":
			sig.Source = a.val
		case "target":
			sig.Target = a.val
		case "count":
			c, err := strconv.Atoi(a.val)
			if err != nil || c < 1 {
				return sig, fmt.Errorf("count %q: want a positive integer", a.val)
			}
			sig.Count = c
		case "time":
			// The event time, when it is not the input time: absolute, or
			// -duration / +duration from it (late data).
			if d, err := parseDuration(a.val); err == nil && (a.val[0] == '-' || a.val[0] == '+') {
				sig.Time = s.now.Add(d)
			} else if t, err := time.Parse(time.RFC3339, a.val); err == nil {
				sig.Time = t.UTC()
			} else {
				return sig, fmt.Errorf("time %q: want RFC 3339 or ±duration", a.val)
			}
		default:
			return sig, fmt.Errorf("unknown signal attribute %q (rule, title, level, class, tactics, techniques, source, target, count, time)", a.key)
		}
	}
	if sig.Class == "" {
		return sig, errors.New("signal needs a class")
	}
	sig.Evidence.EventTime = sig.Time
	return sig, nil
}

// push queues what the chain produced.
func (s *script) push(n int, outs []campaign.Output) {
	for _, o := range outs {
		out := output{from: n, attrs: map[string]string{}}
		switch {
		case o.Escalation != nil:
			out.kind = "escalation"
			escalationAttrs(*o.Escalation, out.attrs)
			s.orgOf[o.Escalation.Data.IncidentID] = o.Escalation.Data.Targets.Organisation
		case o.Closed != nil:
			out.kind = "closed"
			closedAttrs(*o.Closed, out.attrs)
			out.attrs["org"] = s.orgOf[o.Closed.Data.IncidentID]
		default:
			continue
		}
		s.logf("%s:%d: %s", s.file, n, out.render(true))
		s.queue = append(s.queue, out)
	}
}

func escalationAttrs(e escalate.Escalation, m map[string]string) {
	d := e.Data
	m["id"], m["incident"], m["time"] = e.ID, d.IncidentID, e.Time
	m["org"], m["sector"], m["tier"] = d.Targets.Organisation, d.Targets.Sector, strconv.Itoa(d.Targets.Tier)
	m["hosts"], m["orgs"] = strconv.Itoa(d.Targets.HostCount), strconv.Itoa(d.Targets.OrganisationCount)
	m["organisations"], m["sectors"] = strings.Join(d.Targets.Organisations, ","), strings.Join(d.Targets.Sectors, ",")
	m["level"], m["level_name"], m["previous"] = strconv.Itoa(d.Level), d.LevelName, strconv.Itoa(d.PreviousLevel)
	m["candidacy"], m["class"], m["impact"] = string(d.Candidacy), d.Class, d.FunctionalImpact
	m["score"] = strconv.FormatFloat(d.Score, 'f', -1, 64)
	m["tactics"], m["techniques"] = strings.Join(d.Tactics, ","), strings.Join(d.Techniques, ",")
	m["sources"], m["clusters"] = strconv.Itoa(d.Sources.Count), strconv.Itoa(d.Sources.Clusters)
	m["actor"], m["nexus"] = d.Sources.Actor, strconv.FormatFloat(d.Sources.StateNexus, 'f', -1, 64)
	m["gates"], m["transition"], m["decision"], m["rationale"] = strings.Join(d.Gates, " | "), d.Transition, d.Decision, d.Rationale
	m["campaign"], m["linked_by"], m["incidents"] = "", "", "1"
	if c := d.Campaign; c != nil {
		m["campaign"], m["linked_by"], m["incidents"] = c.ID, strings.Join(c.LinkedBy, ","), strconv.Itoa(c.Incidents)
	}
}

func closedAttrs(c escalate.Closed, m map[string]string) {
	d := c.Data
	m["id"], m["incident"], m["time"] = c.ID, d.IncidentID, c.Time
	m["level"], m["level_name"], m["candidacy"] = strconv.Itoa(d.Level), d.LevelName, string(d.Candidacy)
	m["reason"] = d.Reason
	m["last_seen"], m["closed_at"] = d.LastSeen.Format(time.RFC3339), d.ClosedAt.Format(time.RFC3339)
}

// The attributes an output lists when rendered, in this order; the full
// rendering adds every other one.
func shortKeys(kind string) []string {
	if kind == "closed" {
		return []string{"org", "reason", "level", "candidacy", "incident", "time"}
	}
	return []string{"org", "level", "previous", "candidacy", "score", "linked_by", "orgs", "transition", "incident", "id", "time"}
}

func (o output) render(full bool) string {
	keys := shortKeys(o.kind)
	if full {
		for _, k := range sortedKeys(o.attrs) {
			if !slices.Contains(keys, k) && k != "rationale" {
				keys = append(keys, k)
			}
		}
	}
	var b strings.Builder
	b.WriteString(o.kind)
	for _, k := range keys {
		v := o.attrs[k]
		if v == "" && !full {
			continue
		}
		if v == "" || strings.ContainsAny(v, " \t\"#") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return b.String()
}

// expect checks queued outputs: expect escalation|closed attrs...,
// expect each escalation|closed attrs..., expect none.
func (s *script) expect(n int, toks []string) error {
	if len(toks) == 0 {
		return s.errorf(n, "usage: expect escalation|closed|each ...|none")
	}
	if toks[0] == "none" {
		if len(toks) != 1 {
			return s.errorf(n, "expect none takes nothing")
		}
		for _, o := range s.queue {
			s.failf(n, "expected nothing more, got %s", o.render(false))
		}
		s.queue = nil
		return nil
	}
	each := toks[0] == "each"
	if each {
		toks = toks[1:]
	}
	if len(toks) == 0 || (toks[0] != "escalation" && toks[0] != "closed") {
		return s.errorf(n, "expect needs escalation, closed, each or none")
	}
	kind := toks[0]
	as, err := parseAttrs(toks[1:], true)
	if err != nil {
		return s.errorf(n, "%v", err)
	}
	known := escalationKeys()
	if kind == "closed" {
		known = closedKeys()
	}
	for _, a := range as {
		if !slices.Contains(known, a.key) {
			return s.errorf(n, "expect %s: unknown attribute %q (one of %s)", kind, a.key, strings.Join(known, ", "))
		}
		if strings.HasPrefix(a.val, "$") && a.op != "=" && a.op != "!=" {
			return s.errorf(n, "variable %s works with = and != only", a.val)
		}
		if a.op == "!=" && strings.HasPrefix(a.val, "$") {
			if _, ok := s.vars[a.val]; !ok {
				return s.errorf(n, "variable %s is not bound yet", a.val)
			}
		}
	}
	if len(s.queue) == 0 {
		s.failf(n, "expected %s, got nothing", kind)
		return nil
	}
	batch := s.queue[:1]
	if each {
		batch = s.queue
	}
	s.queue = s.queue[len(batch):]
	for _, o := range batch {
		if o.kind != kind {
			s.failf(n, "expected %s, got %s", kind, o.render(false))
			continue
		}
		if why := s.match(o, as); why != "" {
			s.failf(n, "%s\n\tgot %s", why, o.render(true))
		}
	}
	return nil
}

func escalationKeys() []string {
	return []string{"id", "incident", "time", "org", "sector", "tier", "hosts", "orgs", "organisations", "sectors",
		"level", "level_name", "previous", "candidacy", "class", "impact", "score", "tactics", "techniques",
		"sources", "clusters", "actor", "nexus", "gates", "transition", "decision", "rationale",
		"campaign", "linked_by", "incidents"}
}

func closedKeys() []string {
	return []string{"id", "incident", "time", "org", "level", "level_name", "candidacy", "reason", "last_seen", "closed_at"}
}

// match returns why an output does not match the attributes, "" when it
// does. Variables ($name) bind on first use with =.
func (s *script) match(o output, as []attr) string {
	var why []string
	bind := map[string]string{}
	for _, a := range as {
		got := o.attrs[a.key]
		want := a.val
		if strings.HasPrefix(want, "$") {
			v, ok := s.vars[want]
			if !ok {
				bind[want] = got
				continue
			}
			want = v
		}
		if !compare(got, a.op, want) {
			why = append(why, fmt.Sprintf("%s %s %q, got %q", a.key, a.op, want, got))
		}
	}
	if len(why) > 0 {
		return "mismatch: " + strings.Join(why, "; ")
	}
	for k, v := range bind {
		s.vars[k] = v
	}
	return ""
}

func compare(got, op, want string) bool {
	g, gerr := strconv.ParseFloat(got, 64)
	w, werr := strconv.ParseFloat(want, 64)
	numeric := gerr == nil && werr == nil
	switch op {
	case "=":
		if numeric {
			return math.Abs(g-w) < 1e-9
		}
		return got == want
	case "!=":
		if numeric {
			return math.Abs(g-w) >= 1e-9
		}
		return got != want
	case "~":
		return strings.Contains(got, want)
	case "<":
		return numeric && g < w
	case "<=":
		return numeric && g <= w
	case ">":
		return numeric && g > w
	case ">=":
		return numeric && g >= w
	}
	return false
}

var attrRE = regexp.MustCompile(`^([a-z_]+)(!=|<=|>=|=|~|<|>)(.*)$`)

// parseAttrs parses key<op>value tokens; only = unless ops.
func parseAttrs(toks []string, ops bool) ([]attr, error) {
	var out []attr
	for _, t := range toks {
		m := attrRE.FindStringSubmatch(t)
		if m == nil {
			return nil, fmt.Errorf("%q: want key=value", t)
		}
		if !ops && m[2] != "=" {
			return nil, fmt.Errorf("%q: only = is allowed here", t)
		}
		v := m[3]
		if strings.HasPrefix(v, `"`) {
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("%q: bad quoted value", t)
			}
			v = u
		}
		out = append(out, attr{key: m[1], op: m[2], val: v})
	}
	return out, nil
}

// tokenize splits a line into fields at blanks outside double quotes and
// drops a comment: a # that starts a field.
func tokenize(line string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	in, quoted, escaped := false, false, false
	for _, r := range line {
		switch {
		case quoted:
			cur.WriteRune(r)
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == '"':
				quoted = false
			}
		case r == ' ' || r == '\t' || r == '\r':
			if in {
				toks = append(toks, cur.String())
				cur.Reset()
				in = false
			}
		case r == '#' && !in:
			return toks, nil
		default:
			in = true
			if r == '"' {
				quoted = true
			}
			cur.WriteRune(r)
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if in {
		toks = append(toks, cur.String())
	}
	return toks, nil
}

var rangeRE = regexp.MustCompile(`\{(\d+)\.\.(\d+)\}`)

// expand turns a line with a range {a..b} into one line per number; every
// occurrence of the same range takes the same number.
func expand(line string) []string {
	m := rangeRE.FindStringSubmatch(line)
	if m == nil {
		return []string{line}
	}
	lo, _ := strconv.Atoi(m[1])
	hi, _ := strconv.Atoi(m[2])
	var out []string
	for i := lo; i <= hi; i++ {
		out = append(out, expand(strings.ReplaceAll(line, m[0], strconv.Itoa(i)))...)
	}
	return out
}

var daysRE = regexp.MustCompile(`^([+-]?)(\d+)d(.*)$`)

// parseDuration is time.ParseDuration with a d (24h) unit first: 14d, 1d12h.
func parseDuration(s string) (time.Duration, error) {
	if m := daysRE.FindStringSubmatch(s); m != nil {
		days, _ := strconv.Atoi(m[2])
		d := time.Duration(days) * 24 * time.Hour
		if m[3] != "" {
			r, err := time.ParseDuration(m[3])
			if err != nil {
				return 0, err
			}
			d += r
		}
		if m[1] == "-" {
			d = -d
		}
		return d, nil
	}
	return time.ParseDuration(s)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
