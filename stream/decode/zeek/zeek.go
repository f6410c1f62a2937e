package zeek

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Format is the name the JSON decoder reports in its errors.
const Format = "zeek"

// Limits on one record. Beyond them a record is refused rather than
// truncated, so padding cannot push a value out of the rules' sight.
const (
	// MaxFields bounds the distinct native fields of one record:
	// too_large beyond it.
	MaxFields = 1024
	// maxPathLen bounds a log type name taken from a record.
	maxPathLen = 64
)

// poolCap is the largest tree (in nodes) kept for reuse; a rare huge record
// does not pin its memory.
const poolCap = 4096

// Decoder decodes Zeek JSON log records. It is immutable after New (or
// NewForPath) and safe for concurrent use.
type Decoder struct {
	m        *mapper
	path     string // log type for records that do not name theirs; "" sniffs
	scratch  sync.Pool
	treePool sync.Pool
}

// scratch is the per-call state kept in a pool.
type scratch struct {
	rec  record
	name []byte
	list []byte
}

// New returns a decoder that takes each record's log type from the record
// (_path, a zeek-kafka tag, log_type, event.dataset or log.file.path) and,
// failing those, from the record's shape.
func New() *Decoder {
	d := &Decoder{m: newMapper()}
	d.scratch.New = func() any { return new(scratch) }
	d.treePool.New = func() any { return new(jsontree.Tree) }
	return d
}

// NewForPath returns a decoder for a topic that carries one log type: it
// uses path for every record that does not name its own. path must be one
// of Paths().
func NewForPath(path string) (*Decoder, error) {
	if !slices.Contains(Paths(), path) {
		return nil, fmt.Errorf("zeek log type %q not supported (have %s)", path, strings.Join(Paths(), ", "))
	}
	d := New()
	d.path = path
	return d, nil
}

// Paths lists the log types with a specific mapping, sorted. Records of
// other types decode too, with the fields every Zeek log shares.
func Paths() []string {
	return []string{"conn", "dnp3", "dns", "http", "modbus", "notice", "ssl", "weird"}
}

// Decode resets ev and fills it from data, one Zeek JSON record. On
// failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	t := d.treePool.Get().(*jsontree.Tree)
	err := t.Parse(Format, data, jsontree.Limits{})
	if err == nil {
		err = d.DecodeTree(t, ev)
	}
	t.Reset()
	if t.Cap() <= poolCap {
		d.treePool.Put(t)
	}
	return err
}

// DecodeTree resets ev and fills it from a parsed Zeek JSON record. On
// failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) DecodeTree(t *jsontree.Tree, ev *event.Event) error {
	*ev = event.Event{}
	s := d.scratch.Get().(*scratch)
	s.rec.reset()
	err := d.decodeTree(t, s, ev)
	s.rec.reset()
	if cap(s.rec.entries) <= 4*MaxFields {
		d.scratch.Put(s)
	}
	if err != nil {
		*ev = event.Event{}
		return err
	}
	return nil
}

func (d *Decoder) decodeTree(t *jsontree.Tree, s *scratch, ev *event.Event) error {
	if t.Kind(jsontree.Root) != jsontree.Object {
		return decerr.New(Format, decerr.WrongType, "", fmt.Errorf("want object at top level, got %s", t.Describe(jsontree.Root)))
	}
	root := jsontree.Root
	path, tagged := "", false
	if key, inner, ok := taggedRecord(t); ok {
		// zeek-kafka with Kafka::tag_json: {"conn": {...}}, with the
		// writer's additional_message_values beside the tag.
		path, tagged = key, true
		for m := t.First(root); m >= 0; m = t.Next(m) {
			if m == inner {
				continue
			}
			if v, ok := t.Text(m); ok {
				if ev.Labels == nil {
					ev.Labels = make(map[string]string)
				}
				ev.Labels[t.Key(m)] = v
			}
		}
		root = inner
	}
	s.name = s.name[:0]
	if err := d.flatten(t, s, root); err != nil {
		return err
	}
	rec := &s.rec
	rec.finish()
	field := ""
	if !tagged {
		path, field = recordPath(rec)
	}
	if path == "" {
		path = d.path
	}
	if path == "" {
		path = shape(rec)
	}
	if path != "" {
		p, ok := normPath(path)
		if !ok {
			if field == "" {
				field = "_path"
			}
			return decerr.New(Format, decerr.WrongType, field,
				fmt.Errorf("want a Zeek log type name, got %q", decerr.Truncate(path, 32)))
		}
		path = p
	} else if !zeekish(rec) {
		return decerr.New(Format, decerr.MissingField, "_path",
			errors.New("log type unknown: no _path, tag, log_type, event.dataset or log.file.path, and no ts, uid or id.orig_h"))
	}
	return d.m.apply(rec, path, ev)
}

// taggedRecord recognises zeek-kafka's tagged JSON: an object member, named
// like a log type, holding the record (a ts or uid inside), and no record
// fields beside it.
func taggedRecord(t *jsontree.Tree) (key string, inner int32, ok bool) {
	root := jsontree.Root
	inner = -1
	for m := t.First(root); m >= 0; m = t.Next(m) {
		if t.Kind(m) == jsontree.Object {
			if inner >= 0 {
				return "", -1, false
			}
			inner = m
		}
	}
	if inner < 0 || t.Child(root, "ts") >= 0 || t.Child(root, "_path") >= 0 {
		return "", -1, false
	}
	if t.Child(inner, "ts") < 0 && t.Child(inner, "uid") < 0 {
		return "", -1, false
	}
	key = t.Key(inner)
	if _, ok := normPath(key); !ok {
		return "", -1, false
	}
	return key, inner, true
}

// flatten adds the members of object i to the record under dotted names
// (s.name holds the prefix). Arrays become one field whose scalar elements
// are joined by "\n"; null counts as absent.
func (d *Decoder) flatten(t *jsontree.Tree, s *scratch, i int32) error {
	base := len(s.name)
	for m := t.First(i); m >= 0; m = t.Next(m) {
		s.name = s.name[:base]
		if base > 0 {
			s.name = append(s.name, '.')
		}
		s.name = append(s.name, t.KeyBytes(m)...)
		switch t.Kind(m) {
		case jsontree.Null:
			continue
		case jsontree.Object:
			if err := s.rec.add(d.m.name(s.name), nil, kindObject); err != nil {
				return err
			}
			if err := d.flatten(t, s, m); err != nil {
				return err
			}
		case jsontree.Array:
			s.list = s.list[:0]
			n := 0
			for e := t.First(m); e >= 0; e = t.Next(e) {
				b, ok := t.TextBytes(e)
				if !ok {
					continue // null, or a nested container: Zeek writes neither
				}
				if n > 0 {
					s.list = append(s.list, '\n')
				}
				s.list = append(s.list, b...)
				n++
			}
			if err := s.rec.add(d.m.name(s.name), s.list, kindList); err != nil {
				return err
			}
		default:
			k := kindText
			switch t.Kind(m) {
			case jsontree.Number:
				k = kindNumber
			case jsontree.Bool:
				k = kindBool
			}
			v, _ := t.TextBytes(m)
			if err := s.rec.add(d.m.name(s.name), v, k); err != nil {
				return err
			}
		}
	}
	s.name = s.name[:base]
	return nil
}

// recordPath returns the log type a record names and the field it came
// from: Zeek's _path, a forwarder's log_type, event.dataset ("zeek.conn")
// or the log file's name (".../conn.log", "conn.09:00:00-10:00:00.log").
func recordPath(rec *record) (path, field string) {
	for _, f := range [...]string{"_path", "log_type"} {
		if v, ok := rec.text(f); ok && v != "" {
			return v, f
		}
	}
	if v, ok := rec.text("event.dataset"); ok {
		if p, ok := strings.CutPrefix(v, "zeek."); ok && p != "" {
			return p, "event.dataset"
		}
	}
	if v, ok := rec.text("log.file.path"); ok && strings.HasSuffix(v, ".log") {
		base := v[strings.LastIndexAny(v, `/\`)+1:]
		if p, _, _ := strings.Cut(base, "."); p != "" {
			return p, "log.file.path"
		}
	}
	return "", ""
}

// normPath lower-cases a log type and drops the "-2" suffix Zeek gives a
// second filter writing the same path. A name must be short and made of
// letters, digits, '_' and '-'.
func normPath(p string) (string, bool) {
	if p == "" || len(p) > maxPathLen {
		return "", false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return "", false
		}
	}
	p = strings.ToLower(p)
	if i := strings.LastIndexByte(p, '-'); i > 0 && i < len(p)-1 && allDigits(p[i+1:]) {
		p = p[:i]
	}
	return p, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// shape guesses the log type of a record that does not name it, from the
// fields only that log writes.
func shape(rec *record) string {
	has := func(n string) bool { _, ok := rec.text(n); return ok }
	switch {
	case has("conn_state"):
		return "conn"
	case has("query") || has("qtype_name") || has("rcode_name"):
		return "dns"
	case has("method") && (has("uri") || has("host")):
		return "http"
	case has("note"):
		return "notice"
	case has("fc_request") || has("fc_reply"):
		return "dnp3"
	case has("func"):
		return "modbus"
	case has("cipher") || has("server_name") || has("ssl_history"):
		return "ssl"
	case has("name") && has("peer"):
		return "weird"
	case has("proto") && (has("history") || has("orig_pkts") || has("duration")):
		return "conn"
	}
	return ""
}

// zeekish reports whether a record of unknown type still looks like a Zeek
// log: every Zeek log has ts, and most uid and the connection id.
func zeekish(rec *record) bool {
	for _, f := range [...]string{"ts", "uid", "id.orig_h"} {
		if _, ok := rec.text(f); ok {
			return true
		}
	}
	return false
}

// Sniff reports whether a parsed record looks like a Zeek JSON log: a ts
// with _path, uid or the connection id, or zeek-kafka's tagged form.
func Sniff(t *jsontree.Tree) bool {
	root := jsontree.Root
	if t.Kind(root) != jsontree.Object {
		return false
	}
	if _, _, ok := taggedRecord(t); ok {
		return true
	}
	if t.Child(root, "ts") < 0 {
		return false
	}
	if k := t.Kind(t.Child(root, "_path")); k == jsontree.String {
		return true
	}
	return t.Child(root, "uid") >= 0 || t.Child(root, "id.orig_h") >= 0 ||
		t.Kind(t.Path(root, "id", "orig_h")) != jsontree.Absent
}
