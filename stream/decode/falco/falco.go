package falco

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/internal/native"
)

// Format is the name the decoder reports in its errors.
const Format = "falco"

// MaxFields bounds the distinct names in ev.Fields: a record with more is
// refused (too_large) rather than truncated, so padding cannot push a value
// out of the rules' sight.
const MaxFields = native.MaxFields

// poolCap is the largest tree kept for reuse; a rare huge record does not
// pin its memory.
const poolCap = 4096

// Unix-second bounds of years 0000 to 9999, the years a time.Time can
// render as RFC 3339.
const (
	minUnix = -62167219200 // 0000-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// inYears reports whether t lies in years 0000 to 9999.
func inYears(t time.Time) bool { return t.Unix() >= minUnix && t.Unix() <= maxUnix }

// isTechnique reports whether s is an ATT&CK technique or sub-technique id:
// T and four digits, optionally a dot and three digits, either case.
func isTechnique(s string) bool {
	if (len(s) != 5 && len(s) != 9) || (s[0] != 'T' && s[0] != 't') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if i == 5 {
			if s[i] != '.' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Decoder decodes Falco JSON alerts. It is immutable after New and safe for
// concurrent use.
type Decoder struct {
	states sync.Pool // *state
}

type state struct {
	tree jsontree.Tree
	nat  *native.Fields
}

// New returns a Falco decoder.
func New() *Decoder {
	return &Decoder{states: sync.Pool{New: func() any { return &state{nat: native.New(Format)} }}}
}

// Sniff reports whether a parsed record looks like a Falco alert: a string
// rule beside an output_fields object, or beside a string priority and
// output.
func Sniff(t *jsontree.Tree) bool {
	root := jsontree.Root
	if t.Kind(t.Child(root, "rule")) != jsontree.String {
		return false
	}
	return t.Kind(t.Child(root, "output_fields")) == jsontree.Object ||
		t.Kind(t.Child(root, "priority")) == jsontree.String && t.Kind(t.Child(root, "output")) == jsontree.String
}

// Decode resets ev and fills it from data, one Falco alert as a JSON
// object. On failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	s := d.states.Get().(*state)
	err := s.tree.Parse(Format, data, jsontree.Limits{})
	if err == nil {
		err = d.decode(&s.tree, ev, s)
	}
	s.tree.Reset()
	d.put(s)
	if err != nil {
		*ev = event.Event{}
		return err
	}
	return nil
}

// DecodeTree resets ev and fills it from an alert already parsed into t.
// On failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) DecodeTree(t *jsontree.Tree, ev *event.Event) error {
	*ev = event.Event{}
	s := d.states.Get().(*state)
	err := d.decode(t, ev, s)
	d.put(s)
	if err != nil {
		*ev = event.Event{}
		return err
	}
	return nil
}

func (d *Decoder) put(s *state) {
	s.nat.Reset()
	if s.tree.Cap() <= poolCap {
		d.states.Put(s)
	}
}

func (d *Decoder) decode(t *jsontree.Tree, ev *event.Event, s *state) error {
	root := jsontree.Root
	if t.Kind(root) != jsontree.Object {
		return decerr.New(Format, decerr.Malformed, "", errors.New("want a JSON object at top level"))
	}
	rule, err := str(t, t.Child(root, "rule"), "rule")
	if err != nil {
		return err
	}
	if rule == "" {
		return decerr.New(Format, decerr.MissingField, "rule", errors.New("not a Falco alert"))
	}
	of := t.Child(root, "output_fields")
	switch t.Kind(of) {
	case jsontree.Absent, jsontree.Null, jsontree.Object:
	default:
		return wrongType(t, of, "output_fields", "object")
	}
	tags := t.Child(root, "tags")
	switch t.Kind(tags) {
	case jsontree.Absent, jsontree.Null:
	case jsontree.Array:
		for c := t.First(tags); c >= 0; c = t.Next(c) {
			if t.Kind(c) != jsontree.String {
				return wrongType(t, c, "tags", "array of strings")
			}
		}
	default:
		return wrongType(t, tags, "tags", "array of strings")
	}
	if err := record(s.nat, t, root); err != nil {
		return err
	}

	m := mapper{t: t, ev: ev, of: of}
	if err := m.alert(rule); err != nil {
		return err
	}
	if err := m.outputFields(); err != nil {
		return err
	}
	ev.Fields = s.nat.Fields()
	return nil
}

// record walks the alert's members into native fields: output_fields
// members under their own names (proc.cmdline, fd.sip), tags joined with
// ",", anything else by its dotted name.
func record(n *native.Fields, t *jsontree.Tree, root int32) error {
	for c := t.First(root); c >= 0; c = t.Next(c) {
		switch {
		case t.KeyIs(c, "output_fields") && t.Kind(c) == jsontree.Object:
			for f := t.First(c); f >= 0; f = t.Next(f) {
				if err := n.Member(t, f); err != nil {
					return err
				}
			}
		case t.KeyIs(c, "tags") && t.Kind(c) == jsontree.Array:
			if err := n.List("tags", t, c, ","); err != nil {
				return err
			}
		default:
			if err := n.Member(t, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapper maps one alert's values to the event.
type mapper struct {
	t  *jsontree.Tree
	ev *event.Event
	of int32 // output_fields, -1 when absent
}

// severity places a Falco priority (syslog's levels, any case) on the
// scale of OCSF's severity_id, which the ocsf decoder keeps too, so one
// threshold serves both: 1 Informational, 2 Low, 3 Medium, 4 High,
// 5 Critical, 6 Fatal. The native priority field keeps Falco's own word.
func severity(p string) (int, bool) {
	switch strings.ToLower(p) {
	case "emergency":
		return 6, true
	case "alert", "critical":
		return 5, true
	case "error":
		return 4, true
	case "warning":
		return 3, true
	case "notice":
		return 2, true
	case "informational", "info", "debug":
		return 1, true
	}
	return 0, false
}

// alert maps the alert's own members: rule, priority, time, source,
// hostname, tags.
func (m *mapper) alert(rule string) error {
	t, ev, root := m.t, m.ev, jsontree.Root
	ev.EventKind = "alert"
	ev.ObserverVendor, ev.ObserverProduct, ev.ObserverType = "Falcosecurity", "falco", "ids"
	ev.RuleName = rule

	pr := t.Child(root, "priority")
	p, err := str(t, pr, "priority")
	if err != nil {
		return err
	}
	if p != "" {
		sev, ok := severity(p)
		if !ok {
			return wrongType(t, pr, "priority", "a Falco priority (Emergency ... Debug)")
		}
		ev.EventSeverity = sev
	}

	tm := t.Child(root, "time")
	switch t.Kind(tm) {
	case jsontree.Absent, jsontree.Null:
	case jsontree.String:
		s, _ := t.TextBytes(tm)
		p, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil {
			return wrongType(t, tm, "time", "RFC 3339 time")
		}
		if p = p.UTC(); !inYears(p) {
			return decerr.New(Format, decerr.WrongType, "time", errors.New("want RFC 3339 time in years 0000-9999 (UTC)"))
		}
		ev.Timestamp = p
	default:
		return wrongType(t, tm, "time", "RFC 3339 time")
	}

	src, err := str(t, t.Child(root, "source"), "source")
	if err != nil {
		return err
	}
	ev.EventDataset = "falco"
	if src != "" && len(src) <= 64 && strings.Trim(src, "abcdefghijklmnopqrstuvwxyz0123456789_") == "" {
		ev.EventDataset = "falco." + src
	}
	switch src {
	case "syscall":
		ev.Logsource.Product = "linux"
		ev.HostOSFamily = "linux"
	case "k8s_audit":
		ev.Logsource = event.Logsource{Product: "kubernetes", Service: "audit"}
	case "aws_cloudtrail":
		ev.Logsource = event.Logsource{Product: "aws", Service: "cloudtrail"}
	case "okta":
		ev.Logsource = event.Logsource{Product: "okta", Service: "okta"}
	case "github":
		ev.Logsource = event.Logsource{Product: "github", Service: "audit"}
	case "gcp_auditlog":
		ev.Logsource = event.Logsource{Product: "gcp", Service: "gcp.audit"}
	}

	if ev.HostName, err = str(t, t.Child(root, "hostname"), "hostname"); err != nil {
		return err
	}
	for c := t.First(t.Child(root, "tags")); c >= 0; c = t.Next(c) {
		tag, _ := t.Text(c)
		if isTechnique(tag) {
			tag = strings.ToUpper(tag)
			if !slices.Contains(ev.ThreatTechniques, tag) {
				ev.ThreatTechniques = append(ev.ThreatTechniques, tag)
			}
		}
	}
	return nil
}

// field returns output field name as text; "" when absent, null or
// Falco's "<NA>" placeholder.
func (m *mapper) field(name string) (string, error) {
	return str(m.t, m.t.Child(m.of, name), name)
}

// first returns the first non-empty of the output fields names.
func (m *mapper) first(names ...string) (string, error) {
	for _, n := range names {
		s, err := m.field(n)
		if err != nil || s != "" {
			return s, err
		}
	}
	return "", nil
}

// outputFields maps the values the rule's output carried.
func (m *mapper) outputFields() error {
	ev := m.ev
	var err error
	if ev.Timestamp.IsZero() {
		if err := m.fallbackTime(); err != nil {
			return err
		}
	}
	if ev.HostName == "" {
		if ev.HostName, err = m.field("evt.hostname"); err != nil {
			return err
		}
	}
	if ev.ProcessName, err = m.field("proc.name"); err != nil {
		return err
	}
	if ev.ProcessExecutable, err = m.first("proc.exepath", "proc.exe"); err != nil {
		return err
	}
	if ev.ProcessCommandLine, err = m.field("proc.cmdline"); err != nil {
		return err
	}
	if ev.ProcessParentExecutable, err = m.first("proc.pexepath", "proc.pexe"); err != nil {
		return err
	}
	if ev.UserName, err = m.first("user.name", "ka.user.name"); err != nil {
		return err
	}
	if ev.URLOriginal, err = m.field("ka.uri"); err != nil {
		return err
	}

	// fd.name names a file only for file descriptors of files; for a
	// socket it is the connection tuple (10.0.0.1:5432->10.0.0.2:443).
	fdType, err := m.field("fd.type")
	if err != nil {
		return err
	}
	fdName, err := m.field("fd.name")
	if err != nil {
		return err
	}
	switch {
	case fdType == "file" || fdType == "directory":
		ev.FilePath = fdName
	case fdType == "" && strings.HasPrefix(fdName, "/"):
		ev.FilePath = fdName
	}

	// Client and server name roles outright. Local and remote do so by
	// the syscall: what accept returns was opened by the remote end (the
	// source); anything else, as connect, goes out from the local end.
	evType, err := m.field("evt.type")
	if err != nil {
		return err
	}
	local, remote := "fd.lip", "fd.rip"
	lport, rport := "fd.lport", "fd.rport"
	if evType == "accept" || evType == "accept4" {
		local, remote, lport, rport = remote, local, rport, lport
	}
	if ev.SourceIP, err = m.ip("fd.cip", local); err != nil {
		return err
	}
	if ev.SourcePort, err = m.port("fd.cport", lport); err != nil {
		return err
	}
	if ev.DestinationIP, err = m.ip("fd.sip", remote); err != nil {
		return err
	}
	if ev.DestinationPort, err = m.port("fd.sport", rport); err != nil {
		return err
	}
	proto, err := m.field("fd.l4proto")
	if err != nil {
		return err
	}
	switch p := strings.ToLower(proto); p {
	case "tcp", "udp", "icmp":
		ev.NetworkTransport = p
	}

	if err := m.activity(); err != nil {
		return err
	}
	if ev.FilePath != "" {
		ev.FileExtension = extension(ev.FilePath)
	}
	return nil
}

// activity sets the category, ECS type and outcome from the syscall when
// the rule's output names it (evt.type): only syscalls that tell the kind
// of activity without doubt get a category.
func (m *mapper) activity() error {
	ev := m.ev
	typ, err := m.field("evt.type")
	if err != nil {
		return err
	}
	switch typ {
	case "execve", "execveat":
		ev.EventCategory, ev.EventType, ev.Logsource.Category = "process", "start", "process_creation"
	case "connect", "accept", "accept4":
		ev.EventCategory, ev.EventType, ev.Logsource.Category = "network", "connection", "network_connection"
	case "unlink", "unlinkat":
		ev.EventCategory, ev.EventType, ev.Logsource.Category = "file", "deletion", "file_delete"
		if ev.FilePath == "" {
			if ev.FilePath, err = m.first("fs.path.name", "evt.arg.name", "evt.arg.path"); err != nil {
				return err
			}
		}
	case "rename", "renameat", "renameat2":
		ev.EventCategory, ev.EventType, ev.Logsource.Category = "file", "change", "file_rename"
		ev.EventAction = "rename"
		// The new name, which a rule watching for ransomware extensions
		// must see.
		target, err := m.first("fs.path.target", "evt.arg.newpath")
		if err != nil {
			return err
		}
		if target != "" {
			ev.FilePath = target
		}
	}
	if typ != "" && ev.EventAction == "" {
		ev.EventAction = typ
	}

	res, err := m.field("evt.res")
	if err != nil {
		return err
	}
	switch {
	case res == "SUCCESS":
		ev.EventOutcome = "success"
	case res == "EINPROGRESS": // a non-blocking connect under way
	case res != "":
		ev.EventOutcome = "failure"
	default:
		if failed, ok, _ := m.t.Bool(m.t.Child(m.of, "evt.failed")); ok {
			ev.EventOutcome = "success"
			if failed {
				ev.EventOutcome = "failure"
			}
		}
	}
	return nil
}

// ip returns the first present of the output fields names as a canonical
// IP address; one that does not parse is wrong_type.
func (m *mapper) ip(names ...string) (string, error) {
	for _, name := range names {
		a, err := m.field(name)
		if err != nil {
			return "", err
		}
		if a == "" {
			continue
		}
		addr, perr := netip.ParseAddr(a)
		if perr != nil {
			return "", wrongType(m.t, m.t.Child(m.of, name), name, "IP address")
		}
		return addr.Unmap().String(), nil
	}
	return "", nil
}

// port returns the first present of the output fields names as a port.
func (m *mapper) port(names ...string) (int, error) {
	t := m.t
	for _, name := range names {
		pi := t.Child(m.of, name)
		if s, _ := t.TextBytes(pi); string(s) == "<NA>" {
			continue
		}
		n, ok, err := t.Int(pi)
		if err != nil {
			return 0, decerr.New(Format, decerr.WrongType, name, err)
		}
		if !ok {
			continue
		}
		if n < 0 || n > 65535 {
			return 0, wrongType(t, pi, name, "port in [0, 65535]")
		}
		return int(n), nil
	}
	return 0, nil
}

// fallbackTime reads the event time from output fields when the alert has
// no time: evt.time or evt.rawtime as epoch nanoseconds (a number or a
// decimal string), or evt.time.iso8601 as RFC 3339. Falco may also render
// evt.time as a time of day without a date; such a value is not a
// timestamp and is left alone.
func (m *mapper) fallbackTime() error {
	t := m.t
	for _, name := range [...]string{"evt.time", "evt.rawtime", "evt.time.iso8601"} {
		i := t.Child(m.of, name)
		switch t.Kind(i) {
		case jsontree.Number, jsontree.String:
		default:
			continue
		}
		if n, ok, err := t.Int(i); err == nil && ok {
			if n < 0 {
				return wrongType(t, i, name, "epoch nanoseconds")
			}
			m.ev.Timestamp = time.Unix(0, n).UTC()
			return nil
		} else if t.Kind(i) == jsontree.Number {
			return wrongType(t, i, name, "epoch nanoseconds")
		}
		s, _ := t.TextBytes(i)
		if p, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
			if p = p.UTC(); !inYears(p) {
				return decerr.New(Format, decerr.WrongType, name, errors.New("want RFC 3339 time in years 0000-9999 (UTC)"))
			}
			m.ev.Timestamp = p
			return nil
		}
	}
	return nil
}

func wrongType(t *jsontree.Tree, i int32, field, want string) error {
	return decerr.New(Format, decerr.WrongType, field, fmt.Errorf("want %s, got %s", want, t.Describe(i)))
}

// str returns scalar i as text; "" for null, absent and Falco's "<NA>"
// placeholder; an object or array is wrong_type naming field.
func str(t *jsontree.Tree, i int32, field string) (string, error) {
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return "", nil
	case jsontree.Object, jsontree.Array:
		return "", wrongType(t, i, field, "string")
	}
	b, _ := t.TextBytes(i)
	if string(b) == "<NA>" {
		return "", nil
	}
	return string(b), nil
}

// extension returns the file extension without the dot, as ECS
// file.extension wants it.
func extension(p string) string {
	base := p[strings.LastIndexAny(p, `/\`)+1:]
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || dot == len(base)-1 {
		return ""
	}
	return base[dot+1:]
}
