package ecs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Format is the name the decoder reports in its errors.
const Format = "ecs"

// MaxDepth is the deepest nesting accepted; the top-level object is level 1.
const MaxDepth = 64

// MaxValues bounds the JSON values (scalars, objects, arrays) in one
// record: too_large beyond it. The parsed tree costs memory per value, so
// the bound keeps a padded record from costing many times its size.
const MaxValues = jsontree.DefaultMaxValues

// poolCap is the largest tree kept for reuse; a rare huge record does not
// pin its memory.
const poolCap = 4096

// Decoder decodes ECS JSON. It is immutable after New and safe for
// concurrent use.
type Decoder struct {
	fields map[string]spec
	trees  sync.Pool // *jsontree.Tree, reused across records
	// Epoch-millisecond bounds of years 0000 to 9999, the years a
	// time.Time can render as RFC 3339 (and marshal to JSON).
	minMillis, maxMillis int64
}

// New returns an ECS decoder.
func New() *Decoder {
	return &Decoder{
		fields:    fieldSpecs(),
		trees:     sync.Pool{New: func() any { return new(jsontree.Tree) }},
		minMillis: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		maxMillis: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - 1,
	}
}

// Decode resets ev and fills it from data, one ECS JSON object. On failure
// it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	t := d.trees.Get().(*jsontree.Tree)
	err := t.Parse(Format, data, jsontree.Limits{MaxDepth: MaxDepth, MaxValues: MaxValues})
	if err != nil {
		err = parseError(data, err)
	} else {
		err = d.decodeTree(t, ev)
	}
	t.Reset() // the tree must not keep the record alive in the pool
	if t.Cap() <= poolCap {
		d.trees.Put(t)
	}
	return err
}

// DecodeTree resets ev and fills it from t, a record already parsed (by the
// registry, to sniff its format). The walk enforces MaxDepth and MaxValues
// itself, so a tree parsed with laxer limits is refused as Decode would
// refuse the record. On failure it returns a *decode.Error and leaves ev
// reset.
func (d *Decoder) DecodeTree(t *jsontree.Tree, ev *event.Event) error {
	*ev = event.Event{}
	switch {
	case t.Kind(jsontree.Root) != jsontree.Object:
		return decerr.New(Format, decerr.Malformed, "", errors.New("want a JSON object at top level, got an empty tree"))
	case t.Len() > MaxValues:
		return decerr.New(Format, decerr.TooLarge, "", fmt.Errorf("more than %d JSON values", MaxValues))
	}
	return d.decodeTree(t, ev)
}

func (d *Decoder) decodeTree(t *jsontree.Tree, ev *event.Event) error {
	var buf [128]byte // dotted paths rarely outgrow it
	w := walker{d: d, t: t, ev: ev, path: buf[:0], depth: 1}
	if err := w.object(jsontree.Root, true); err != nil {
		*ev = event.Event{}
		return err
	}
	// ECS names no Sigma logsource; the categorisation implies one.
	ev.Logsource = event.InferLogsource(ev)
	return nil
}

// walker carries the state of one decode.
type walker struct {
	d     *Decoder
	t     *jsontree.Tree
	ev    *event.Event
	path  []byte // dotted name of the value being read
	depth int    // nesting level of the container being read
}

// object reads the members of object i. assign is false for the later
// elements of an array, which are only checked.
func (w *walker) object(i int32, assign bool) error {
	for c := w.t.First(i); c >= 0; c = w.t.Next(c) {
		n := len(w.path)
		if n > 0 {
			w.path = append(w.path, '.')
		}
		w.path = append(w.path, w.t.KeyBytes(c)...)
		if _, err := w.value(c, assign); err != nil {
			return err
		}
		w.path = w.path[:n]
	}
	return nil
}

// array reads the elements of array i. Only the first present element is
// assigned. It reports whether any element was present (not null, not an
// empty array).
func (w *walker) array(i int32, assign bool) (bool, error) {
	present := false
	for c := w.t.First(i); c >= 0; c = w.t.Next(c) {
		p, err := w.value(c, assign && !present)
		if err != nil {
			return false, err
		}
		present = present || p
	}
	return present, nil
}

// value reads value i at w.path and reports whether it was present.
func (w *walker) value(i int32, assign bool) (bool, error) {
	switch k := w.t.Kind(i); k {
	case jsontree.Null:
		return false, nil
	case jsontree.Object, jsontree.Array:
		// Parse enforces the same limit; a tree from elsewhere may not.
		if w.depth+1 > MaxDepth {
			return false, decerr.New(Format, decerr.TooDeep, "", fmt.Errorf("nesting deeper than %d", MaxDepth))
		}
		if k == jsontree.Array {
			w.depth++
			present, err := w.array(i, assign)
			w.depth--
			return present, err
		}
		if sp, ok := w.d.fields[string(w.path)]; ok && sp.kind != kindLabels {
			return false, w.wrongType(sp.kind.want(), "object")
		}
		w.depth++
		err := w.object(i, assign)
		w.depth--
		return true, err
	default:
		return true, w.scalar(i, assign)
	}
}

// scalar stores string, number or bool i at w.path.
func (w *walker) scalar(i int32, assign bool) error {
	t := w.t
	sp, ok := w.d.fields[string(w.path)]
	if !ok {
		if assign && bytes.HasPrefix(w.path, []byte(labelsPrefix)) {
			if w.ev.Labels == nil {
				w.ev.Labels = make(map[string]string)
			}
			w.ev.Labels[string(w.path[len(labelsPrefix):])], _ = t.Text(i)
		}
		return nil
	}
	switch sp.kind {
	case kindKeyword:
		if assign {
			*sp.str(w.ev), _ = t.Text(i)
		}
	case kindIP:
		if t.Kind(i) != jsontree.String {
			return w.wrongType("IP address", t.Describe(i))
		}
		s, _ := t.Text(i)
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return w.wrongType("IP address", t.Describe(i))
		}
		if assign {
			// IPv4 text that parses is already canonical; IPv6 text is
			// rewritten so equal addresses compare equal as strings.
			if !addr.Is4() {
				if c := addr.Unmap().String(); c != s {
					s = c
				}
			}
			*sp.str(w.ev) = s
		}
	case kindInt:
		n, err := toInt(t, i, sp.min, sp.max)
		if err != nil {
			return w.wrongType(err.Error(), t.Describe(i))
		}
		if assign {
			sp.setInt(w.ev, n)
		}
	case kindTime:
		tm, err := w.toTime(i)
		if err != nil {
			return w.wrongType(err.Error(), t.Describe(i))
		}
		if assign {
			w.ev.Timestamp = tm
		}
	case kindTechniques:
		if t.Kind(i) != jsontree.String {
			return w.wrongType("string", t.Describe(i))
		}
		// Every value counts, not only the first: techniques spread over
		// arrays and arrays of objects all describe the same event.
		b, _ := t.TextBytes(i)
		if len(b) > 0 && !slices.ContainsFunc(w.ev.ThreatTechniques, func(s string) bool { return s == string(b) }) {
			w.ev.ThreatTechniques = append(w.ev.ThreatTechniques, string(b))
		}
	case kindLabels:
		return w.wrongType("object", t.Describe(i))
	}
	return nil
}

// parseError restates a parse error for a record whose top-level value is
// not an object as wrong_type naming the value's type, as the decoder has
// always reported it when the value itself is valid JSON. This runs only on
// failure.
func parseError(data []byte, err error) error {
	got, ok := topLevel(data, err)
	if !ok {
		return err
	}
	if got == "" {
		// A broken string was always malformed, not a wrong type.
		return decerr.New(Format, decerr.Malformed, "",
			errors.New("want a JSON object at top level, got an invalid or unterminated string"))
	}
	return decerr.New(Format, decerr.WrongType, "", fmt.Errorf("want object at top level, got %s", got))
}

// topLevel describes the first value of a record that failed to parse and
// does not start with an object. ok is false when the record starts with
// an object, or with a scalar that is not a string and does not parse with
// what follows it. A string is judged alone, as a tokenizer reads it: got
// is "" for a broken one. The value is parsed again wrapped in an object,
// so jsontree both checks and describes it.
func topLevel(data []byte, err error) (got string, ok bool) {
	var de *decerr.Error
	if !errors.As(err, &de) || (de.Reason != decerr.WrongType && de.Reason != decerr.Malformed) {
		return "", false
	}
	v := bytes.TrimLeft(data, " \t\n\r")
	switch {
	case len(v) == 0 || v[0] == '{':
		return "", false
	case v[0] == '[':
		return "array", true // whatever follows, the record is no object
	}
	str := v[0] == '"'
	if str {
		v = v[:stringEnd(v)]
	}
	wrapped := make([]byte, 0, len(v)+len(`{"":}`))
	wrapped = append(append(append(wrapped, `{"":`...), v...), '}')
	var w jsontree.Tree
	if w.Parse(Format, wrapped, jsontree.Limits{MaxDepth: MaxDepth + 1, MaxValues: MaxValues + 1}) != nil {
		return "", str
	}
	return w.Describe(w.First(jsontree.Root)), true
}

// stringEnd returns the length of the JSON string at the start of v,
// closing quote included, or 0 when it is not closed.
func stringEnd(v []byte) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return 0
}

func (w *walker) wrongType(want, got string) error {
	return decerr.New(Format, decerr.WrongType, string(w.path), fmt.Errorf("want %s, got %s", want, got))
}

// toTime reads an RFC 3339 string or epoch milliseconds.
func (w *walker) toTime(i int32) (time.Time, error) {
	var tm time.Time
	switch w.t.Kind(i) {
	case jsontree.Number:
		ms, err := toInt(w.t, i, w.d.minMillis, w.d.maxMillis)
		if err != nil {
			return tm, errors.New("RFC 3339 time or epoch milliseconds in years 0000-9999")
		}
		return time.UnixMilli(ms).UTC(), nil
	case jsontree.String:
		b, _ := w.t.TextBytes(i)
		v := string(b)
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			if ms < w.d.minMillis || ms > w.d.maxMillis {
				return tm, errors.New("epoch milliseconds in years 0000-9999")
			}
			return time.UnixMilli(ms).UTC(), nil
		}
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return tm, errors.New("RFC 3339 time")
		}
		tm = p.UTC()
		if y := tm.Year(); y < 0 || y > 9999 {
			return time.Time{}, errors.New("RFC 3339 time in years 0000-9999 (UTC)")
		}
		return tm, nil
	}
	return tm, errors.New("RFC 3339 time or epoch milliseconds")
}

// toInt reads an integer within [lo, hi] from number or string i: a JSON
// number (integral values written as 80.0 or 8e1 included) or a decimal
// string. The error text is what the field wants. Unlike jsontree's Int it
// takes no spaces and no float text inside strings, as it always has.
func toInt(t *jsontree.Tree, i int32, lo, hi int64) (int64, error) {
	number := false
	switch t.Kind(i) {
	case jsontree.Number:
		number = true
	case jsontree.String:
	default:
		return 0, errors.New("number")
	}
	b, _ := t.TextBytes(i)
	s := string(b)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Only JSON numbers fall back to floats: ParseFloat would also take
		// strings such as "Inf" or "0x1p4".
		f, ferr := strconv.ParseFloat(s, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
		case !number || ferr != nil || f != math.Trunc(f):
			return 0, errors.New("integer number")
		case f >= float64(lo) && f <= float64(hi) && f < 0x1p63:
			return int64(f), nil
		}
		return 0, fmt.Errorf("number in [%d, %d]", lo, hi)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("number in [%d, %d]", lo, hi)
	}
	return n, nil
}
