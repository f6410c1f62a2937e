package ecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// Format is the name the decoder reports in its errors.
const Format = "ecs"

// MaxDepth is the deepest nesting accepted; the top-level object is level 1.
const MaxDepth = 64

// Decoder decodes ECS JSON. It is immutable after New and safe for
// concurrent use.
type Decoder struct {
	fields map[string]spec
	// Epoch-millisecond bounds of years 0000 to 9999, the years a
	// time.Time can render as RFC 3339 (and marshal to JSON).
	minMillis, maxMillis int64
}

// New returns an ECS decoder.
func New() *Decoder {
	return &Decoder{
		fields:    fieldSpecs(),
		minMillis: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		maxMillis: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - 1,
	}
}

// Decode resets ev and fills it from data, one ECS JSON object. On failure
// it returns a *decode.Error and leaves ev reset.
func (d *Decoder) Decode(data []byte, ev *event.Event) error {
	*ev = event.Event{}
	if err := d.decode(data, ev); err != nil {
		*ev = event.Event{}
		return err
	}
	// ECS names no Sigma logsource; the categorisation implies one.
	ev.Logsource = event.InferLogsource(ev)
	return nil
}

func (d *Decoder) decode(data []byte, ev *event.Event) error {
	if decerr.Blank(data) {
		return decerr.New(Format, decerr.Empty, "", nil)
	}
	if !utf8.Valid(data) {
		return decerr.New(Format, decerr.InvalidUTF8, "",
			fmt.Errorf("invalid UTF-8 at offset %d", decerr.InvalidUTF8At(data)))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := walker{d: d, dec: dec, ev: ev, path: make([]byte, 0, 64)}

	tok, err := dec.Token()
	if err != nil {
		return w.syntax(err)
	}
	if tok != json.Delim('{') {
		return decerr.New(Format, decerr.WrongType, "",
			fmt.Errorf("want object at top level, got %s", decerr.Describe(tok)))
	}
	w.depth = 1
	if err := w.object(true); err != nil {
		return err
	}
	switch _, err := dec.Token(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return w.syntax(err)
	default:
		return decerr.New(Format, decerr.Malformed, "",
			fmt.Errorf("data after the top-level object at offset %d", dec.InputOffset()))
	}
}

// walker carries the state of one Decode call.
type walker struct {
	d     *Decoder
	dec   *json.Decoder
	ev    *event.Event
	path  []byte // dotted name of the value being read
	depth int
}

// object reads members up to the closing brace; '{' is already consumed.
// assign is false for the later elements of an array, which are only
// checked.
func (w *walker) object(assign bool) error {
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntax(err)
		}
		key, ok := tok.(string)
		if !ok { // the tokenizer allows only a key or '}' here
			return nil
		}
		n := len(w.path)
		if n > 0 {
			w.path = append(w.path, '.')
		}
		w.path = append(w.path, key...)
		if _, err := w.value(assign); err != nil {
			return err
		}
		w.path = w.path[:n]
	}
}

// array reads elements up to the closing bracket; '[' is already consumed.
// Only the first present element is assigned. It reports whether any
// element was present (not null, not an empty array).
func (w *walker) array(assign bool) (bool, error) {
	present := false
	for w.dec.More() {
		p, err := w.value(assign && !present)
		if err != nil {
			return false, err
		}
		present = present || p
	}
	if _, err := w.dec.Token(); err != nil { // ']'
		return false, w.syntax(err)
	}
	return present, nil
}

// value reads one value at w.path and reports whether it was present.
func (w *walker) value(assign bool) (bool, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return false, w.syntax(err)
	}
	switch v := tok.(type) {
	case nil:
		return false, nil
	case json.Delim: // only '{' or '[' in value position
		w.depth++
		if w.depth > MaxDepth {
			return false, decerr.New(Format, decerr.TooDeep, "",
				fmt.Errorf("nesting deeper than %d at offset %d", MaxDepth, w.dec.InputOffset()))
		}
		if v == '[' {
			present, err := w.array(assign)
			w.depth--
			return present, err
		}
		if sp, ok := w.d.fields[string(w.path)]; ok && sp.kind != kindLabels {
			return false, w.wrongType(sp.kind.want(), "object")
		}
		err := w.object(assign)
		w.depth--
		return true, err
	default:
		return true, w.scalar(tok, assign)
	}
}

// scalar stores a string, json.Number or bool at w.path.
func (w *walker) scalar(tok json.Token, assign bool) error {
	sp, ok := w.d.fields[string(w.path)]
	if !ok {
		if assign && bytes.HasPrefix(w.path, []byte(labelsPrefix)) {
			if w.ev.Labels == nil {
				w.ev.Labels = make(map[string]string)
			}
			w.ev.Labels[string(w.path[len(labelsPrefix):])] = text(tok)
		}
		return nil
	}
	switch sp.kind {
	case kindKeyword:
		if assign {
			*sp.str(w.ev) = text(tok)
		}
	case kindIP:
		s, ok := tok.(string)
		if !ok {
			return w.wrongType("IP address", decerr.Describe(tok))
		}
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return w.wrongType("IP address", decerr.Describe(tok))
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
		n, err := toInt(tok, sp.min, sp.max)
		if err != nil {
			return w.wrongType(err.Error(), decerr.Describe(tok))
		}
		if assign {
			sp.setInt(w.ev, n)
		}
	case kindTime:
		t, err := w.toTime(tok)
		if err != nil {
			return w.wrongType(err.Error(), decerr.Describe(tok))
		}
		if assign {
			w.ev.Timestamp = t
		}
	case kindTechniques:
		s, ok := tok.(string)
		if !ok {
			return w.wrongType("string", decerr.Describe(tok))
		}
		// Every value counts, not only the first: techniques spread over
		// arrays and arrays of objects all describe the same event.
		if s != "" && !slices.Contains(w.ev.ThreatTechniques, s) {
			w.ev.ThreatTechniques = append(w.ev.ThreatTechniques, s)
		}
	case kindLabels:
		return w.wrongType("object", decerr.Describe(tok))
	}
	return nil
}

func (w *walker) wrongType(want, got string) error {
	return decerr.New(Format, decerr.WrongType, string(w.path), fmt.Errorf("want %s, got %s", want, got))
}

func (w *walker) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("unexpected end of input")
	case errors.As(err, &se):
		err = fmt.Errorf("offset %d: %w", se.Offset, se)
	}
	return decerr.New(Format, decerr.Malformed, "", err)
}

// toTime reads an RFC 3339 string or epoch milliseconds.
func (w *walker) toTime(tok json.Token) (time.Time, error) {
	var t time.Time
	switch v := tok.(type) {
	case json.Number:
		ms, err := toInt(v, w.d.minMillis, w.d.maxMillis)
		if err != nil {
			return t, errors.New("RFC 3339 time or epoch milliseconds in years 0000-9999")
		}
		return time.UnixMilli(ms).UTC(), nil
	case string:
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			if ms < w.d.minMillis || ms > w.d.maxMillis {
				return t, errors.New("epoch milliseconds in years 0000-9999")
			}
			return time.UnixMilli(ms).UTC(), nil
		}
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return t, errors.New("RFC 3339 time")
		}
		t = p.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return time.Time{}, errors.New("RFC 3339 time in years 0000-9999 (UTC)")
		}
		return t, nil
	}
	return t, errors.New("RFC 3339 time or epoch milliseconds")
}

// toInt reads an integer within [lo, hi] from a JSON number (integral
// values written as 80.0 or 8e1 included) or a decimal string. The error
// text is what the field wants.
func toInt(tok json.Token, lo, hi int64) (int64, error) {
	var s string
	number := false
	switch v := tok.(type) {
	case json.Number:
		s, number = string(v), true
	case string:
		s = v
	default:
		return 0, errors.New("number")
	}
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

// text renders a scalar token for a keyword field.
func text(tok json.Token) string {
	switch v := tok.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}
