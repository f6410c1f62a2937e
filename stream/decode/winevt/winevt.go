package winevt

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Format is the name the decoder reports in its errors.
const Format = "winevt"

// Limits on one record. Beyond them a record is refused rather than
// truncated, so padding cannot push a value out of the rules' sight.
const (
	// MaxDepth is the deepest nesting accepted; the top-level object is
	// level 1, and objects and arrays both count.
	MaxDepth = 64
	// MaxValues bounds the JSON values (scalars, objects, arrays) in one
	// record: too_large beyond it.
	MaxValues = 1 << 16
	// MaxFields bounds the distinct names in ev.Fields: too_large beyond it.
	MaxFields = 1024
)

// maxQuoted bounds how much of an offending value an error message quotes.
const maxQuoted = 32

// poolCap is the largest node slice kept for reuse; a rare huge record
// does not pin its memory.
const poolCap = 4096

// Decoder decodes Windows event records as JSON. It is immutable after New
// and safe for concurrent use.
type Decoder struct {
	tables tables
	trees  sync.Pool // *jsontree.Tree, reused across records
	// Unix-second bounds of years 0000 to 9999, the years a time.Time can
	// render as RFC 3339.
	minTime, maxTime time.Time
}

// New returns a Windows event decoder.
func New() *Decoder {
	return &Decoder{
		tables:  newTables(),
		trees:   sync.Pool{New: func() any { return new(jsontree.Tree) }},
		minTime: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		maxTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
	}
}

// Decode resets ev and fills it from data, one Windows event record. On
// failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	t := d.trees.Get().(*jsontree.Tree)
	err := t.Parse(Format, data, jsontree.Limits{MaxDepth: MaxDepth, MaxValues: MaxValues})
	if err != nil {
		err = parseError(data, err)
	} else {
		err = d.decode(t, ev)
	}
	t.Reset() // the tree must not keep the record alive in the pool
	if t.Cap() <= poolCap {
		d.trees.Put(t)
	}
	if err != nil {
		*ev = event.Event{}
		return err
	}
	return nil
}

// DecodeTree resets ev and fills it from t, a record already parsed (by the
// registry, to sniff its format). A tree parsed with laxer limits than
// MaxDepth and MaxValues is refused as Decode would refuse the record. On
// failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) DecodeTree(t *jsontree.Tree, ev *event.Event) error {
	*ev = event.Event{}
	err := checkTree(t)
	if err == nil {
		err = d.decode(t, ev)
	}
	if err != nil {
		*ev = event.Event{}
		return err
	}
	return nil
}

// Sniff reports whether a parsed record has one of the layouts Decode
// reads, by its top-level members: an "Event" object holding "System"
// (evtx_dump), a "winlog" object (Winlogbeat), "System" beside "EventData"
// (Event's content at the top), or NXLog's "EventID" beside "Channel" or
// "SourceName". It is stricter than Decode, which also takes "System" or
// "EventID" alone, so that it does not claim other formats' records.
// Winlogbeat documents are ECS as well; asked first, Sniff lets the
// registry give them this decoder, which keeps the Windows fields.
func Sniff(t *jsontree.Tree) bool {
	root := jsontree.Root
	if t.Kind(root) != jsontree.Object {
		return false
	}
	var event, winlog, system, eventData, eventID, channel, source bool
	for c := t.First(root); c >= 0; c = t.Next(c) {
		switch k := t.Kind(c); string(t.KeyBytes(c)) {
		case "Event":
			event = k == jsontree.Object && t.Kind(t.Child(c, "System")) == jsontree.Object
		case "winlog":
			winlog = k == jsontree.Object
		case "System":
			system = k == jsontree.Object
		case "EventData":
			eventData = k != jsontree.Null
		case "EventID":
			eventID = k != jsontree.Null
		case "Channel":
			channel = k == jsontree.String
		case "SourceName":
			source = k == jsontree.String
		}
	}
	return event || winlog || (system && eventData) || (eventID && (channel || source))
}

// system holds the System values of a record, whatever its layout.
type system struct {
	eventID  uint32
	fields   []event.Field // System fields in output order
	channel  string
	computer string
	time     time.Time
}

// add returns a setter for System field name that stores a present value,
// so a lookup's (value, present) result can be passed straight to it.
func (s *system) add(name string) func(string, bool) {
	return func(value string, ok bool) {
		if ok {
			s.fields = append(s.fields, event.Field{Name: name, Value: value})
		}
	}
}

// decode fills ev from a parsed record; ev is reset.
func (d *Decoder) decode(t *jsontree.Tree, ev *event.Event) error {
	w := &walker{t: t, dataAt: -1}
	w.fs.fields = make([]event.Field, 0, fieldsCap(t))
	sys := system{fields: make([]event.Field, 0, systemFields)}
	var err error
	switch root := jsontree.Root; {
	case t.Child(root, "Event") >= 0:
		err = d.evtx(w, &sys, t.Child(root, "Event"), "Event.")
	case t.Child(root, "winlog") >= 0:
		err = d.winlogbeat(w, &sys, root)
	case t.Child(root, "System") >= 0:
		err = d.evtx(w, &sys, root, "")
	case t.Child(root, "EventID") >= 0:
		err = d.nxlog(w, &sys, root)
	default:
		return decerr.New(Format, decerr.MissingField, "Event",
			errors.New("not an event record: no Event, System, winlog or EventID member"))
	}
	if err != nil {
		return err
	}
	ev.Fields = w.fs.fields
	d.canonical(ev, &sys, &w.fs)
	return nil
}

// systemFields is the most System fields a layout stores.
const systemFields = 12

// fieldsCap estimates the length of ev.Fields, so the slice is allocated
// once: each field takes at least one scalar value, except the joined
// "Data" of unnamed values.
func fieldsCap(t *jsontree.Tree) int {
	n := 1
	for i := range int32(t.Len()) {
		switch t.Kind(i) {
		case jsontree.String, jsontree.Number, jsontree.Bool:
			n++
		}
	}
	return min(n, MaxFields)
}

// evtx reads the evtx_dump layout: e is the Event object, prefix its path.
func (d *Decoder) evtx(w *walker, sys *system, e int32, prefix string) error {
	t := w.t
	if t.Kind(e) != jsontree.Object {
		return wrongType(t, e, "Event", "object")
	}
	s := t.Child(e, "System")
	switch {
	case s < 0 || t.Kind(s) == jsontree.Null:
		return decerr.New(Format, decerr.MissingField, prefix+"System", nil)
	case t.Kind(s) != jsontree.Object:
		return wrongType(t, s, prefix+"System", "object")
	}
	if err := d.eventID(t, sys, t.Child(s, "EventID"), prefix+"System.EventID"); err != nil {
		return err
	}
	name, ok := attr(t, s, "Provider", "Name")
	sys.add("Provider_Name")(name, ok)
	sys.add("Provider_Guid")(attr(t, s, "Provider", "Guid"))
	sys.channel, ok = text(t, s, "Channel")
	sys.add("Channel")(sys.channel, ok)
	sys.computer, ok = text(t, s, "Computer")
	sys.add("Computer")(sys.computer, ok)
	sys.add("Level")(text(t, s, "Level"))
	sys.add("Task")(text(t, s, "Task"))
	sys.add("Keywords")(text(t, s, "Keywords"))
	sys.add("EventRecordID")(text(t, s, "EventRecordID"))
	sys.add("Security_UserID")(attr(t, s, "Security", "UserID"))
	sys.add("Execution_ProcessID")(attr(t, s, "Execution", "ProcessID"))
	sys.add("Execution_ThreadID")(attr(t, s, "Execution", "ThreadID"))
	if ts, ok := attr(t, s, "TimeCreated", "SystemTime"); ok {
		tm, err := d.parseTime(ts)
		if err != nil {
			return decerr.New(Format, decerr.WrongType, prefix+"System.TimeCreated.SystemTime", err)
		}
		sys.time = tm
	}
	w.setSystem(sys)

	if ed := t.Child(e, "EventData"); ed >= 0 {
		w.container = prefix + "EventData"
		if err := w.eventData(ed); err != nil {
			return err
		}
	}
	if ud := t.Child(e, "UserData"); ud >= 0 {
		w.container = prefix + "UserData"
		if err := w.flatten("UserData", ud); err != nil {
			return err
		}
	}
	return nil
}

// winlogbeat reads Winlogbeat's layout: winlog.* and @timestamp.
func (d *Decoder) winlogbeat(w *walker, sys *system, root int32) error {
	t := w.t
	wl := t.Child(root, "winlog")
	if t.Kind(wl) != jsontree.Object {
		return wrongType(t, wl, "winlog", "object")
	}
	if err := d.eventID(t, sys, t.Child(wl, "event_id"), "winlog.event_id"); err != nil {
		return err
	}
	sys.add("Provider_Name")(text(t, wl, "provider_name"))
	sys.add("Provider_Guid")(text(t, wl, "provider_guid"))
	var ok bool
	sys.channel, ok = text(t, wl, "channel")
	sys.add("Channel")(sys.channel, ok)
	sys.computer, ok = text(t, wl, "computer_name")
	sys.add("Computer")(sys.computer, ok)
	sys.add("EventRecordID")(text(t, wl, "record_id"))
	sys.add("Security_UserID")(text(t, t.Child(wl, "user"), "identifier"))
	sys.add("Execution_ProcessID")(text(t, t.Child(wl, "process"), "pid"))
	sys.add("Execution_ThreadID")(text(t, t.Path(wl, "process", "thread"), "id"))
	if ts, ok := text(t, root, "@timestamp"); ok {
		tm, err := d.parseTime(ts)
		if err != nil {
			return decerr.New(Format, decerr.WrongType, "@timestamp", err)
		}
		sys.time = tm
	}
	w.setSystem(sys)

	if ed := t.Child(wl, "event_data"); ed >= 0 {
		w.container = "winlog.event_data"
		if err := w.eventData(ed); err != nil {
			return err
		}
	}
	if ud := t.Child(wl, "user_data"); ud >= 0 {
		w.container = "winlog.user_data"
		if err := w.flatten("user_data", ud); err != nil {
			return err
		}
	}
	return nil
}

// nxlog reads NXLog's flat layout (im_msvistalog with to_json()): System
// values and event data side by side at the top level.
func (d *Decoder) nxlog(w *walker, sys *system, root int32) error {
	t := w.t
	if err := d.eventID(t, sys, t.Child(root, "EventID"), "EventID"); err != nil {
		return err
	}
	sys.add("Provider_Name")(text(t, root, "SourceName"))
	sys.add("Provider_Guid")(text(t, root, "ProviderGuid"))
	var ok bool
	sys.channel, ok = text(t, root, "Channel")
	sys.add("Channel")(sys.channel, ok)
	sys.computer, ok = text(t, root, "Hostname")
	sys.add("Computer")(sys.computer, ok)
	sys.add("Task")(text(t, root, "Task"))
	sys.add("Keywords")(text(t, root, "Keywords"))
	sys.add("EventRecordID")(text(t, root, "RecordNumber"))
	sys.add("Security_UserID")(text(t, root, "UserID"))
	sys.add("Execution_ProcessID")(text(t, root, "ProcessID"))
	sys.add("Execution_ThreadID")(text(t, root, "ThreadID"))
	if ts, ok := text(t, root, "EventTime"); ok {
		tm, err := d.parseTime(ts)
		if err != nil {
			return decerr.New(Format, decerr.WrongType, "EventTime", err)
		}
		sys.time = tm
	}
	w.setSystem(sys)
	w.container = ""
	if err := w.eventData(root); err != nil {
		return err
	}
	return nil
}

// setSystem stores the System fields ahead of any data field.
func (w *walker) setSystem(sys *system) {
	for _, f := range sys.fields {
		w.fs.setSystem(f.Name, f.Value)
	}
}

// eventID reads the event id at node i (a number, a decimal string, or an
// element object with "#text"), stores it as sys.eventID and as the
// EventID field.
func (d *Decoder) eventID(t *jsontree.Tree, sys *system, i int32, field string) error {
	if i < 0 || t.Kind(i) == jsontree.Null {
		return decerr.New(Format, decerr.MissingField, field, nil)
	}
	v := i
	if t.Kind(v) == jsontree.Object {
		v = t.Child(v, "#text")
		if v < 0 {
			return wrongType(t, i, field, "integer event id")
		}
	}
	s, _ := t.TextBytes(v)
	id, ok := parseID(t.Kind(v), string(s))
	if !ok {
		return wrongType(t, v, field, "integer event id in [0, 4294967295]")
	}
	sys.eventID = id
	sys.add("EventID")(strconv.FormatUint(uint64(id), 10), true)
	return nil
}

// parseID reads a non-negative 32-bit integer from a JSON number (integral
// values written as 4688.0 or 4.688e3 included) or a decimal string.
func parseID(k jsontree.Kind, s string) (uint32, bool) {
	switch k {
	case jsontree.String:
		n, err := strconv.ParseUint(s, 10, 32)
		return uint32(n), err == nil
	case jsontree.Number:
		if n, err := strconv.ParseUint(s, 10, 32); err == nil {
			return uint32(n), true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f != math.Trunc(f) || f < 0 || f > math.MaxUint32 {
			return 0, false
		}
		return uint32(f), true
	}
	return 0, false
}

// timeLayouts are the SystemTime and EventTime spellings accepted: RFC 3339
// with or without fractional seconds, a space instead of "T", " UTC"
// instead of "Z"; without a zone the time is taken as UTC.
var timeLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 MST",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

func (d *Decoder) parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		tm, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if layout == timeLayouts[2] && tm.Location() != time.UTC {
			continue // only " UTC"; other zone abbreviations are ambiguous
		}
		tm = tm.UTC()
		if tm.Before(d.minTime) || tm.After(d.maxTime) {
			return time.Time{}, errors.New("want RFC 3339 time in years 0000-9999 (UTC)")
		}
		return tm, nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 time, got %q", decerr.Truncate(s, maxQuoted))
}

func wrongType(t *jsontree.Tree, i int32, field, want string) error {
	return decerr.New(Format, decerr.WrongType, field, fmt.Errorf("want %s, got %s", want, t.Describe(i)))
}
