package winevt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
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
	trees  sync.Pool
	// Unix-second bounds of years 0000 to 9999, the years a time.Time can
	// render as RFC 3339.
	minTime, maxTime time.Time
}

// New returns a Windows event decoder.
func New() *Decoder {
	return &Decoder{
		tables:  newTables(),
		trees:   sync.Pool{New: func() any { return new(tree) }},
		minTime: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		maxTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
	}
}

// Decode resets ev and fills it from data, one Windows event record. On
// failure it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	t := d.trees.Get().(*tree)
	err := d.decode(data, ev, t)
	if cap(t.nodes) <= poolCap {
		clear(t.nodes) // drop the strings of this record
		d.trees.Put(t)
	}
	if err != nil {
		*ev = event.Event{}
		return err
	}
	return nil
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

func (d *Decoder) decode(data []byte, ev *event.Event, t *tree) error {
	if decerr.Blank(data) {
		return decerr.New(Format, decerr.Empty, "", nil)
	}
	if !utf8.Valid(data) {
		return decerr.New(Format, decerr.InvalidUTF8, "",
			fmt.Errorf("invalid UTF-8 at offset %d", decerr.InvalidUTF8At(data)))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := t.parse(dec); err != nil {
		return err
	}

	w := &walker{t: t, dataAt: -1}
	var sys system
	var err error
	switch root := int32(0); {
	case t.child(root, "Event") >= 0:
		err = d.evtx(w, &sys, t.child(root, "Event"), "Event.")
	case t.child(root, "winlog") >= 0:
		err = d.winlogbeat(w, &sys, root)
	case t.child(root, "System") >= 0:
		err = d.evtx(w, &sys, root, "")
	case t.child(root, "EventID") >= 0:
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

// evtx reads the evtx_dump layout: e is the Event object, prefix its path.
func (d *Decoder) evtx(w *walker, sys *system, e int32, prefix string) error {
	t := w.t
	if t.nodes[e].kind != kindObject {
		return wrongType(t, e, "Event", "object")
	}
	s := t.child(e, "System")
	switch {
	case s < 0 || t.nodes[s].kind == kindNull:
		return decerr.New(Format, decerr.MissingField, prefix+"System", nil)
	case t.nodes[s].kind != kindObject:
		return wrongType(t, s, prefix+"System", "object")
	}
	if err := d.eventID(t, sys, t.child(s, "EventID"), prefix+"System.EventID"); err != nil {
		return err
	}
	name, ok := t.attr(s, "Provider", "Name")
	sys.add("Provider_Name")(name, ok)
	sys.add("Provider_Guid")(t.attr(s, "Provider", "Guid"))
	sys.channel, ok = t.text(s, "Channel")
	sys.add("Channel")(sys.channel, ok)
	sys.computer, ok = t.text(s, "Computer")
	sys.add("Computer")(sys.computer, ok)
	sys.add("Level")(t.text(s, "Level"))
	sys.add("Task")(t.text(s, "Task"))
	sys.add("Keywords")(t.text(s, "Keywords"))
	sys.add("EventRecordID")(t.text(s, "EventRecordID"))
	sys.add("Security_UserID")(t.attr(s, "Security", "UserID"))
	sys.add("Execution_ProcessID")(t.attr(s, "Execution", "ProcessID"))
	sys.add("Execution_ThreadID")(t.attr(s, "Execution", "ThreadID"))
	if ts, ok := t.attr(s, "TimeCreated", "SystemTime"); ok {
		tm, err := d.parseTime(ts)
		if err != nil {
			return decerr.New(Format, decerr.WrongType, prefix+"System.TimeCreated.SystemTime", err)
		}
		sys.time = tm
	}
	w.setSystem(sys)

	if ed := t.child(e, "EventData"); ed >= 0 {
		w.container = prefix + "EventData"
		if err := w.eventData(ed); err != nil {
			return err
		}
	}
	if ud := t.child(e, "UserData"); ud >= 0 {
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
	wl := t.child(root, "winlog")
	if t.nodes[wl].kind != kindObject {
		return wrongType(t, wl, "winlog", "object")
	}
	if err := d.eventID(t, sys, t.child(wl, "event_id"), "winlog.event_id"); err != nil {
		return err
	}
	sys.add("Provider_Name")(t.text(wl, "provider_name"))
	sys.add("Provider_Guid")(t.text(wl, "provider_guid"))
	var ok bool
	sys.channel, ok = t.text(wl, "channel")
	sys.add("Channel")(sys.channel, ok)
	sys.computer, ok = t.text(wl, "computer_name")
	sys.add("Computer")(sys.computer, ok)
	sys.add("EventRecordID")(t.text(wl, "record_id"))
	sys.add("Security_UserID")(t.text(t.child(wl, "user"), "identifier"))
	sys.add("Execution_ProcessID")(t.text(t.child(wl, "process"), "pid"))
	sys.add("Execution_ThreadID")(t.text(t.path(wl, "process", "thread"), "id"))
	if ts, ok := t.text(root, "@timestamp"); ok {
		tm, err := d.parseTime(ts)
		if err != nil {
			return decerr.New(Format, decerr.WrongType, "@timestamp", err)
		}
		sys.time = tm
	}
	w.setSystem(sys)

	if ed := t.child(wl, "event_data"); ed >= 0 {
		w.container = "winlog.event_data"
		if err := w.eventData(ed); err != nil {
			return err
		}
	}
	if ud := t.child(wl, "user_data"); ud >= 0 {
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
	if err := d.eventID(t, sys, t.child(root, "EventID"), "EventID"); err != nil {
		return err
	}
	sys.add("Provider_Name")(t.text(root, "SourceName"))
	sys.add("Provider_Guid")(t.text(root, "ProviderGuid"))
	var ok bool
	sys.channel, ok = t.text(root, "Channel")
	sys.add("Channel")(sys.channel, ok)
	sys.computer, ok = t.text(root, "Hostname")
	sys.add("Computer")(sys.computer, ok)
	sys.add("Task")(t.text(root, "Task"))
	sys.add("Keywords")(t.text(root, "Keywords"))
	sys.add("EventRecordID")(t.text(root, "RecordNumber"))
	sys.add("Security_UserID")(t.text(root, "UserID"))
	sys.add("Execution_ProcessID")(t.text(root, "ProcessID"))
	sys.add("Execution_ThreadID")(t.text(root, "ThreadID"))
	if ts, ok := t.text(root, "EventTime"); ok {
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
func (d *Decoder) eventID(t *tree, sys *system, i int32, field string) error {
	if i < 0 || t.nodes[i].kind == kindNull {
		return decerr.New(Format, decerr.MissingField, field, nil)
	}
	v := i
	if t.nodes[v].kind == kindObject {
		v = t.child(v, "#text")
		if v < 0 {
			return wrongType(t, i, field, "integer event id")
		}
	}
	id, ok := parseID(t.nodes[v].kind, t.nodes[v].text)
	if !ok {
		return wrongType(t, v, field, "integer event id in [0, 4294967295]")
	}
	sys.eventID = id
	sys.add("EventID")(strconv.FormatUint(uint64(id), 10), true)
	return nil
}

// parseID reads a non-negative 32-bit integer from a JSON number (integral
// values written as 4688.0 or 4.688e3 included) or a decimal string.
func parseID(k kind, s string) (uint32, bool) {
	switch k {
	case kindString:
		n, err := strconv.ParseUint(s, 10, 32)
		return uint32(n), err == nil
	case kindNumber:
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

func wrongType(t *tree, i int32, field, want string) error {
	return decerr.New(Format, decerr.WrongType, field, fmt.Errorf("want %s, got %s", want, t.describe(i)))
}
