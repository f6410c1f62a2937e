package ocsf

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/internal/native"
)

// Format is the name the decoder reports in its errors.
const Format = "ocsf"

// MaxFields bounds the distinct names in ev.Fields: a record with more is
// refused (too_large) rather than truncated, so padding cannot push a value
// out of the rules' sight.
const MaxFields = native.MaxFields

// OCSF class uids the decoder maps beyond the common fields.
const (
	ClassFileSystemActivity = 1001
	ClassProcessActivity    = 1007
	ClassSecurityFinding    = 2001 // deprecated since OCSF 1.1 in favour of 2004
	ClassDetectionFinding   = 2004
	ClassNetworkActivity    = 4001
)

// poolCap is the largest tree kept for reuse; a rare huge record does not
// pin its memory.
const poolCap = 4096

// Decoder decodes OCSF 1.x JSON events. It is immutable after New and safe
// for concurrent use.
type Decoder struct {
	states sync.Pool // *state
}

// state is the scratch of one Decode call, reused across records.
type state struct {
	tree jsontree.Tree
	nat  *native.Fields
}

// New returns an OCSF decoder.
func New() *Decoder {
	return &Decoder{states: sync.Pool{New: func() any { return &state{nat: native.New(Format)} }}}
}

// Sniff reports whether a parsed record looks like an OCSF event: a numeric
// class_uid beside metadata, category_uid or type_uid at the top level.
func Sniff(t *jsontree.Tree) bool {
	root := jsontree.Root
	if _, ok, err := t.Int(t.Child(root, "class_uid")); !ok || err != nil {
		return false
	}
	return t.Kind(t.Child(root, "metadata")) == jsontree.Object ||
		t.Kind(t.Child(root, "category_uid")) != jsontree.Absent ||
		t.Kind(t.Child(root, "type_uid")) != jsontree.Absent
}

// Decode resets ev and fills it from data, one OCSF event as a JSON object.
// On failure it returns a *decode.Error and leaves ev reset.
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

// DecodeTree resets ev and fills it from a record already parsed into t,
// so a caller that sniffed the format need not parse twice. On failure it
// returns a *decode.Error and leaves ev reset.
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

// record is the decoding of one event: the tree, the event, and what the
// class mappers share.
type record struct {
	t        *jsontree.Tree
	ev       *event.Event
	class    int64
	activity int64
}

func (d *Decoder) decode(t *jsontree.Tree, ev *event.Event, s *state) error {
	if t.Kind(jsontree.Root) != jsontree.Object {
		return decerr.New(Format, decerr.Malformed, "", errors.New("want a JSON object at top level"))
	}
	r := record{t: t, ev: ev}
	root := jsontree.Root
	class, ok, err := integer(t, t.Child(root, "class_uid"), "class_uid", 0, 1<<31-1)
	switch {
	case err != nil:
		return err
	case !ok:
		return decerr.New(Format, decerr.MissingField, "class_uid", errors.New("not an OCSF event"))
	}
	r.class = class
	if r.activity, _, err = integer(t, t.Child(root, "activity_id"), "activity_id", 0, 1<<31-1); err != nil {
		return err
	}

	if err := s.nat.Walk(t, root); err != nil {
		return err
	}
	if err := r.common(); err != nil {
		return err
	}
	switch class {
	case ClassNetworkActivity:
		err = r.network()
	case ClassProcessActivity:
		err = r.process()
	case ClassFileSystemActivity:
		err = r.file()
	case ClassDetectionFinding, ClassSecurityFinding:
		err = r.finding()
	default:
		err = r.other()
	}
	if err != nil {
		return err
	}
	ev.Fields = s.nat.Fields()
	return nil
}

// common maps the attributes every OCSF class shares.
func (r *record) common() error {
	t, ev, root := r.t, r.ev, jsontree.Root
	ev.EventKind = "event"
	ev.EventDataset = "ocsf." + className(r.class)

	tm, ok, err := epochMillis(t, t.Child(root, "time"), "time")
	if err != nil {
		return err
	}
	if !ok {
		if tm, _, err = rfc3339(t, t.Child(root, "time_dt"), "time_dt"); err != nil {
			return err
		}
	}
	ev.Timestamp = tm

	if tu := t.Child(root, "type_uid"); t.Kind(tu) == jsontree.Number || t.Kind(tu) == jsontree.String {
		ev.EventCode, _ = t.Text(tu)
	}
	name, err := str(t, t.Child(root, "activity_name"), "activity_name")
	if err != nil {
		return err
	}
	ev.EventAction = strings.ToLower(name)

	sev, ok, err := integer(t, t.Child(root, "severity_id"), "severity_id", 0, 99)
	switch {
	case err != nil:
		return err
	case ok && sev > 6 && sev != 99:
		return wrongType(t, t.Child(root, "severity_id"), "severity_id", "severity id 0-6 or 99")
	case sev != 99: // Other has no place on the scale; severity_id keeps it
		ev.EventSeverity = int(sev)
	}

	md := t.Child(root, "metadata")
	if ev.ObserverProduct, err = str(t, t.Path(md, "product", "name"), "metadata.product.name"); err != nil {
		return err
	}
	if ev.ObserverVendor, err = str(t, t.Path(md, "product", "vendor_name"), "metadata.product.vendor_name"); err != nil {
		return err
	}

	dev := t.Child(root, "device")
	if ev.HostName, err = firstStr(t, dev, "device", "hostname", "name"); err != nil {
		return err
	}
	if ev.HostIP, err = ipAddr(t, t.Child(dev, "ip"), "device.ip"); err != nil {
		return err
	}
	if err := r.os(t.Child(dev, "os"), "device.os"); err != nil {
		return err
	}

	if ev.UserName, err = str(t, t.Path(root, "actor", "user", "name"), "actor.user.name"); err != nil {
		return err
	}
	if ev.UserName == "" {
		if ev.UserName, err = str(t, t.Path(root, "user", "name"), "user.name"); err != nil {
			return err
		}
	}
	return nil
}

// firstStr returns the first non-empty of obj's members keys.
func firstStr(t *jsontree.Tree, obj int32, prefix string, keys ...string) (string, error) {
	for _, k := range keys {
		s, err := str(t, t.Child(obj, k), prefix+"."+k)
		if err != nil || s != "" {
			return s, err
		}
	}
	return "", nil
}

// os sets host.os.family and the logsource product from an OCSF os
// object: type_id 100 Windows, 200 Linux, 300 macOS, else the type name.
func (r *record) os(o int32, field string) error {
	t := r.t
	id, _, err := integer(t, t.Child(o, "type_id"), field+".type_id", 0, 1<<31-1)
	if err != nil {
		return err
	}
	fam := ""
	switch id {
	case 100:
		fam = "windows"
	case 200:
		fam = "linux"
	case 300:
		fam = "macos"
	default:
		typ, err := str(t, t.Child(o, "type"), field+".type")
		if err != nil {
			return err
		}
		switch strings.ToLower(typ) {
		case "windows":
			fam = "windows"
		case "linux":
			fam = "linux"
		case "macos":
			fam = "macos"
		}
	}
	if fam != "" {
		r.ev.HostOSFamily = fam
		r.ev.Logsource.Product = fam
	}
	return nil
}

// statusOutcome maps the event status (status_id, else status) to
// event.outcome: 1 Success, 2 Failure. Findings use status for the
// finding's workflow state and do not call it.
func (r *record) statusOutcome() error {
	t, root := r.t, jsontree.Root
	id, ok, err := integer(t, t.Child(root, "status_id"), "status_id", 0, 1<<31-1)
	if err != nil {
		return err
	}
	if ok {
		switch id {
		case 1:
			r.ev.EventOutcome = "success"
		case 2:
			r.ev.EventOutcome = "failure"
		}
		return nil
	}
	st, err := str(t, t.Child(root, "status"), "status")
	if err != nil {
		return err
	}
	switch strings.ToLower(st) {
	case "success":
		r.ev.EventOutcome = "success"
	case "failure":
		r.ev.EventOutcome = "failure"
	}
	return nil
}

// other maps a class without a dedicated mapping: the event status, and
// the endpoints and acting process many classes share.
func (r *record) other() error {
	if err := r.statusOutcome(); err != nil {
		return err
	}
	root := jsontree.Root
	if err := r.endpoints(root, ""); err != nil {
		return err
	}
	return r.actingProcess(root, "")
}

// className names the OCSF classes the decoder knows, for event.dataset.
func className(class int64) string {
	switch class {
	case ClassFileSystemActivity:
		return "file_activity"
	case ClassProcessActivity:
		return "process_activity"
	case ClassSecurityFinding:
		return "security_finding"
	case ClassDetectionFinding:
		return "detection_finding"
	case ClassNetworkActivity:
		return "network_activity"
	}
	return "class_" + strconv.FormatInt(class, 10)
}
