package suricata

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Format is the name the decoder reports in its errors.
const Format = "suricata"

// Limits on one record, beyond jsontree's own (depth 64, 65,536 values).
// A record beyond them is refused rather than truncated, so padding cannot
// push a value out of the rules' sight.
const (
	// MaxFields bounds the distinct names in ev.Fields: too_large beyond.
	MaxFields = 1024
)

// poolCap is the largest tree (in nodes) kept for reuse, so one huge
// record does not pin its memory.
const poolCap = 4096

// maxQuoted bounds how much of an offending value an error message quotes.
const maxQuoted = 32

// Decoder decodes Suricata EVE JSON records. It is immutable after New and
// safe for concurrent use.
type Decoder struct {
	classes    classIndex
	names      map[string]string // known field names, interned
	protos     map[string]string // proto / app_proto as written → lower case
	datasets   map[string]string // event_type → event.dataset
	types      map[string]recordType
	scratch    sync.Pool
	minT, maxT time.Time
}

// recordType is what an event_type gets besides its own mapping.
type recordType struct {
	kind, category, typ string
	logsource           string // Sigma logsource category
}

// state is the per-call scratch a Decoder pools.
type state struct {
	tree jsontree.Tree
	f    *flattener
}

// New returns a Suricata EVE decoder.
func New() *Decoder {
	d := &Decoder{
		classes:  newClassIndex(),
		names:    make(map[string]string),
		protos:   make(map[string]string),
		datasets: make(map[string]string),
		types:    recordTypes(),
		minT:     time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		maxT:     time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
	}
	for _, n := range knownNames() {
		d.names[n] = n
	}
	for _, p := range knownProtocols() {
		d.protos[p] = p
		d.protos[strings.ToUpper(p)] = p
	}
	d.protos["IPv6-ICMP"] = "ipv6-icmp"
	for t := range d.types {
		d.datasets[t] = "suricata." + t
	}
	d.scratch.New = func() any { return &state{f: newFlattener(d.names)} }
	return d
}

// Decode resets ev and fills it from data, one EVE JSON record. On failure
// it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	st := d.scratch.Get().(*state)
	err := st.tree.Parse(Format, data, jsontree.Limits{})
	if err == nil {
		err = d.decodeTree(&st.tree, ev, st.f)
	}
	st.tree.Reset()
	d.release(st)
	if err != nil {
		*ev = event.Event{}
	}
	return err
}

// DecodeTree resets ev and fills it from an already parsed record, so a
// caller that parsed once to sniff the format need not parse again. t is
// only read. On failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) DecodeTree(t *jsontree.Tree, ev *event.Event) error {
	*ev = event.Event{}
	st := d.scratch.Get().(*state)
	err := d.decodeTree(t, ev, st.f)
	d.release(st)
	if err != nil {
		*ev = event.Event{}
	}
	return err
}

func (d *Decoder) release(st *state) {
	st.f.reset()
	if st.tree.Cap() > poolCap || st.f.oversized() {
		return
	}
	d.scratch.Put(st)
}

// Sniff reports whether a parsed record has the shape of an EVE record: a
// string event_type and a string timestamp at the top level, members no
// other supported format writes together.
func Sniff(t *jsontree.Tree) bool {
	root := jsontree.Root
	return t.Kind(root) == jsontree.Object &&
		t.Kind(t.Child(root, "event_type")) == jsontree.String &&
		t.Kind(t.Child(root, "timestamp")) == jsontree.String
}

// rec carries one decode call.
type rec struct {
	d  *Decoder
	t  *jsontree.Tree
	f  *flattener
	ev *event.Event
	// Packets to the client, from flowCounts, for flowOutcome.
	toClient     int64
	haveToClient bool
}

func (d *Decoder) decodeTree(t *jsontree.Tree, ev *event.Event, f *flattener) error {
	root := jsontree.Root
	if t.Kind(root) != jsontree.Object {
		return decerr.New(Format, decerr.Malformed, "", errors.New("no parsed JSON object"))
	}
	et := t.Child(root, "event_type")
	switch t.Kind(et) {
	case jsontree.String:
	case jsontree.Absent, jsontree.Null:
		return decerr.New(Format, decerr.MissingField, "event_type", errors.New("not an EVE record"))
	default:
		return wrongType(t, et, "event_type", "string")
	}
	if b, _ := t.TextBytes(et); len(b) == 0 {
		return decerr.New(Format, decerr.MissingField, "event_type", errors.New("empty event_type"))
	}

	if err := f.object(t, root, false); err != nil {
		return err
	}
	f.finish(ev)

	r := rec{d: d, t: t, f: f, ev: ev}
	eventType, _ := f.get(ev, "event_type")
	if err := r.envelope(); err != nil {
		return err
	}
	if err := r.appLayer(); err != nil {
		return err
	}
	if err := r.flowCounts(); err != nil {
		return err
	}

	rt, known := d.types[eventType]
	switch eventType {
	case "alert":
		if err := r.alert(); err != nil {
			return err
		}
	case "flow":
		if err := r.flowOutcome(); err != nil {
			return err
		}
	case "anomaly":
		if err := r.anomaly(); err != nil {
			return err
		}
	}
	if !known {
		// An event type this decoder does not map: the envelope only.
		rt = recordType{kind: "event"}
		if ev.SourceIP != "" || ev.DestinationIP != "" {
			rt.category, rt.typ = "network", "info"
		}
	}
	ev.EventKind = rt.kind
	ev.EventCategory = rt.category
	if ev.EventType == "" {
		ev.EventType = rt.typ
	}
	if ds, ok := d.datasets[eventType]; ok {
		ev.EventDataset = ds
	} else {
		ev.EventDataset = "suricata." + eventType
	}
	ev.ObserverVendor = "OISF"
	ev.ObserverProduct = "suricata"
	ev.ObserverType = "ids"
	ev.Logsource = event.Logsource{Product: "suricata", Category: rt.logsource, Service: eventType}
	return nil
}

// envelope maps the members every EVE record shares.
func (r *rec) envelope() error {
	t, root, ev := r.t, jsontree.Root, r.ev
	if i := t.Child(root, "timestamp"); t.Kind(i) != jsontree.Absent && t.Kind(i) != jsontree.Null {
		if t.Kind(i) != jsontree.String {
			return wrongType(t, i, "timestamp", "ISO 8601 time string")
		}
		s, _ := r.f.get(ev, "timestamp")
		tm, err := r.d.parseTime(s)
		if err != nil {
			return decerr.New(Format, decerr.WrongType, "timestamp", err)
		}
		ev.Timestamp = tm
	}
	var err error
	if ev.SourceIP, err = r.ip("src_ip"); err != nil {
		return err
	}
	if ev.DestinationIP, err = r.ip("dest_ip"); err != nil {
		return err
	}
	if ev.SourcePort, err = r.port("src_port"); err != nil {
		return err
	}
	if ev.DestinationPort, err = r.port("dest_port"); err != nil {
		return err
	}
	if ev.NetworkTransport, err = r.lowerName("proto"); err != nil {
		return err
	}
	app, err := r.lowerName("app_proto")
	if err != nil {
		return err
	}
	// "failed" and "unknown" say protocol detection did not succeed.
	if app != "failed" && app != "unknown" {
		ev.NetworkProtocol = app
	}
	return r.host()
}

// host maps the sensor name (suricata.yaml sensor-name, written as "host")
// to host.name. Shippers that add an object ({"name": ...}) are accepted.
func (r *rec) host() error {
	t := r.t
	i := t.Child(jsontree.Root, "host")
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return nil
	case jsontree.String:
		r.ev.HostName, _ = r.f.get(r.ev, "host")
		return nil
	case jsontree.Object:
		n := t.Child(i, "name")
		switch t.Kind(n) {
		case jsontree.Absent, jsontree.Null:
			return nil
		case jsontree.String:
			r.ev.HostName, _ = r.f.get(r.ev, "host.name")
			return nil
		}
		return wrongType(t, n, "host.name", "string")
	}
	return wrongType(t, i, "host", "string")
}

// keyword returns the text of the scalar at the dotted path name (a string,
// number or bool, as written), sharing the native field's string. Objects
// and arrays are wrong_type; null and absent give "".
func (r *rec) keyword(name string, keys ...string) (string, error) {
	i := r.t.Path(jsontree.Root, keys...)
	switch r.t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return "", nil
	case jsontree.Object, jsontree.Array:
		return "", wrongType(r.t, i, name, "string")
	}
	if s, ok := r.f.get(r.ev, name); ok {
		return s, nil
	}
	// The path and the flattened name can differ only when a member name
	// itself holds a dot; read the tree then.
	s, _ := r.t.Text(i)
	return s, nil
}

// ip maps an address member to its canonical text.
func (r *rec) ip(name string) (string, error) {
	t := r.t
	i := t.Child(jsontree.Root, name)
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return "", nil
	case jsontree.String:
	default:
		return "", wrongType(t, i, name, "IP address")
	}
	s, _ := r.f.get(r.ev, name)
	if s == "" {
		return "", nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return "", wrongType(t, i, name, "IP address")
	}
	if addr.Is4() {
		return s, nil // parsed IPv4 text is already canonical
	}
	// Suricata writes IPv6 fully expanded (0000:0000:...:0001); rules and
	// correlation compare the compressed form.
	if c := addr.Unmap().String(); c != s {
		return c, nil
	}
	return s, nil
}

// port maps a port member: an integer in 0-65535, written as a number or
// a decimal string.
func (r *rec) port(name string) (int, error) {
	i := r.t.Child(jsontree.Root, name)
	n, ok, err := r.t.Int(i)
	if err != nil || (ok && (n < 0 || n > 65535)) {
		return 0, wrongType(r.t, i, name, "port number in [0, 65535]")
	}
	return int(n), nil
}

// lowerName maps proto or app_proto to lower case, as ECS writes
// network.transport and network.protocol.
func (r *rec) lowerName(name string) (string, error) {
	s, err := r.keyword(name, name)
	if err != nil || s == "" {
		return "", err
	}
	if p, ok := r.d.protos[s]; ok {
		return p, nil
	}
	return strings.ToLower(s), nil
}

// count reads a non-negative packet or byte count.
func (r *rec) count(name string, keys ...string) (int64, bool, error) {
	i := r.t.Path(jsontree.Root, keys...)
	n, ok, err := r.t.Int(i)
	if err != nil || (ok && (n < 0 || n > maxCount)) {
		return 0, false, wrongType(r.t, i, name, fmt.Sprintf("count in [0, %d]", int64(maxCount)))
	}
	return n, ok, nil
}

// maxCount bounds one direction's packet or byte count so the two
// directions add up without overflow.
const maxCount = 1 << 62

// parseTime reads the timestamp spellings accepted: Suricata's own
// (numeric offset without a colon, "+0000"), RFC 3339 ("+00:00", "Z"), and
// no offset at all (old releases), taken as UTC. Fractional seconds are
// optional in each.
func (d *Decoder) parseTime(s string) (time.Time, error) {
	for _, layout := range [...]string{"2006-01-02T15:04:05Z0700", time.RFC3339, "2006-01-02T15:04:05"} {
		tm, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		tm = tm.UTC()
		if tm.Before(d.minT) || tm.After(d.maxT) {
			return time.Time{}, errors.New("want ISO 8601 time in years 0000-9999 (UTC)")
		}
		return tm, nil
	}
	return time.Time{}, fmt.Errorf("want ISO 8601 time such as 2024-03-01T12:00:00.123456+0000, got %q",
		decerr.Truncate(s, maxQuoted))
}

func wrongType(t *jsontree.Tree, i int32, field, want string) error {
	return decerr.New(Format, decerr.WrongType, field, fmt.Errorf("want %s, got %s", want, t.Describe(i)))
}
