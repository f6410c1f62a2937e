package sign

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxLineBytes is the default bound on one NDJSON line: far above the
// largest record casus writes, so only a wrong input reaches it.
const MaxLineBytes = 64 << 20

// Record is one Kafka record read for verification.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte   // nil: no key
	Headers   []Header // in order, repeats kept
	Value     []byte   // nil: a null value
}

// String names the record as topic/partition@offset.
func (r Record) String() string {
	t := r.Topic
	if !plainTopic(t) {
		t = strconv.Quote(t)
	}
	return t + "/" + strconv.Itoa(int(r.Partition)) + "@" + strconv.FormatInt(r.Offset, 10)
}

// plainTopic reports whether t holds only the characters Kafka allows in a
// topic name, so it can be printed as it is.
func plainTopic(t string) bool {
	if t == "" || len(t) > 249 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseRecord reads one record from a line of NDJSON in either envelope:
//
//   - kcat -C -J: {"topic":..,"partition":..,"offset":..,"key":..,
//     "payload":"<value as a string>","headers":["k1","v1",...]}
//     (and kcat's map form, "headers":{"k":["v1","v2"]});
//   - casus's (MarshalRecord): {"topic":..,"partition":..,"offset":..,
//     "headers":{"k":"v"},"value":..}, where value is a JSON string of the
//     record's bytes, or a JSON object, array, number or boolean whose bytes,
//     exactly as they stand in the line, are the record's value.
//
// topic, partition and offset are required; fields it does not know (ts,
// tstype, broker) are ignored; a field given twice is refused.
func ParseRecord(line []byte) (Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil {
		return r, notJSON(err)
	} else if t != json.Delim('{') {
		return r, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return r, notJSON(err)
		}
		name := t.(string) // object keys are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return r, notJSON(err)
		}
		switch name {
		case "topic", "partition", "offset", "key", "payload", "value", "headers":
		default:
			continue
		}
		if seen[name] {
			return r, fmt.Errorf("field %q given twice", name)
		}
		seen[name] = true
		if err := r.field(name, raw); err != nil {
			return r, fmt.Errorf("%s: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return r, notJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, errors.New("data after the JSON object")
	}
	for _, f := range []string{"topic", "partition", "offset"} {
		if !seen[f] {
			return r, fmt.Errorf("no %s", f)
		}
	}
	switch {
	case seen["payload"] && seen["value"]:
		return r, errors.New("both payload (kcat) and value (casus): want one")
	case !seen["payload"] && !seen["value"]:
		return r, errors.New("no value (or kcat's payload)")
	}
	return r, nil
}

func (r *Record) field(name string, raw json.RawMessage) error {
	switch name {
	case "topic":
		if err := json.Unmarshal(raw, &r.Topic); err != nil || raw[0] != '"' {
			return errors.New("want a string")
		}
		if r.Topic == "" {
			return errors.New("empty")
		}
	case "partition":
		if err := json.Unmarshal(raw, &r.Partition); err != nil || r.Partition < 0 {
			return errors.New("want an integer 0..2147483647")
		}
	case "offset":
		if err := json.Unmarshal(raw, &r.Offset); err != nil || r.Offset < 0 {
			return errors.New("want a non-negative integer")
		}
	case "key", "payload":
		b, err := nullableString(raw)
		if err != nil {
			return err
		}
		if name == "key" {
			r.Key = b
		} else {
			r.Value = b
		}
	case "value":
		switch raw[0] {
		case '"', 'n':
			b, err := nullableString(raw)
			if err != nil {
				return err
			}
			r.Value = b
		default:
			// The bytes as they stand are the value: re-encoding could
			// reorder or re-escape them, and break the signature.
			r.Value = []byte(raw)
		}
	case "headers":
		h, err := parseHeaders(raw)
		if err != nil {
			return err
		}
		r.Headers = h
	}
	return nil
}

// nullableString decodes a JSON string to its bytes, or null to nil.
func nullableString(raw json.RawMessage) ([]byte, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, errors.New("want a string or null")
	}
	return []byte(s), nil
}

// parseHeaders reads kcat's list ["k1","v1",...], or an object whose values
// are strings, nulls, or lists of them (kcat's map form; repeats).
func parseHeaders(raw json.RawMessage) ([]Header, error) {
	switch raw[0] {
	case 'n':
		return nil, nil
	case '[':
		var list []*string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errors.New("want a list of strings, name and value in turn")
		}
		if len(list)%2 != 0 {
			return nil, fmt.Errorf("%d strings: want name, value pairs", len(list))
		}
		out := make([]Header, 0, len(list)/2)
		for i := 0; i < len(list); i += 2 {
			if list[i] == nil {
				return nil, fmt.Errorf("header %d has a null name", i/2)
			}
			out = append(out, Header{Key: *list[i], Value: bytesOf(list[i+1])})
		}
		return out, nil
	case '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		_, _ = dec.Token() // '{', known from raw[0]
		var out []Header
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			name := t.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			switch v[0] {
			case '"', 'n':
				b, err := nullableString(v)
				if err != nil {
					return nil, err
				}
				out = append(out, Header{Key: name, Value: b})
			case '[':
				var vs []*string
				if err := json.Unmarshal(v, &vs); err != nil {
					return nil, fmt.Errorf("header %q: want a string or a list of strings", name)
				}
				for _, s := range vs {
					out = append(out, Header{Key: name, Value: bytesOf(s)})
				}
			default:
				return nil, fmt.Errorf("header %q: want a string or a list of strings", name)
			}
		}
		return out, nil
	}
	return nil, errors.New("want a list or an object")
}

func bytesOf(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// MarshalRecord writes r as one line (without the newline) of casus's
// envelope. A value that is a JSON object or array on one line is written
// as it is, so people can read it; any other as a JSON string, which must
// then be valid UTF-8, as must the key and the headers. Repeated headers
// become a list under their name.
func MarshalRecord(r Record) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"topic":`)
	if err := appendString(&b, "topic", []byte(r.Topic)); err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, `,"partition":%d,"offset":%d`, r.Partition, r.Offset)
	if r.Key != nil {
		b.WriteString(`,"key":`)
		if err := appendString(&b, "key", r.Key); err != nil {
			return nil, err
		}
	}
	if len(r.Headers) > 0 {
		b.WriteString(`,"headers":{`)
		var order []string
		byName := map[string][][]byte{}
		for _, h := range r.Headers {
			if _, ok := byName[h.Key]; !ok {
				order = append(order, h.Key)
			}
			byName[h.Key] = append(byName[h.Key], h.Value)
		}
		for i, name := range order {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendString(&b, "header name", []byte(name)); err != nil {
				return nil, err
			}
			b.WriteByte(':')
			vs := byName[name]
			if len(vs) > 1 {
				b.WriteByte('[')
			}
			for j, v := range vs {
				if j > 0 {
					b.WriteByte(',')
				}
				if v == nil {
					b.WriteString("null")
				} else if err := appendString(&b, "header "+strconv.Quote(name), v); err != nil {
					return nil, err
				}
			}
			if len(vs) > 1 {
				b.WriteByte(']')
			}
		}
		b.WriteByte('}')
	}
	b.WriteString(`,"value":`)
	switch {
	case r.Value == nil:
		b.WriteString("null")
	case rawJSON(r.Value):
		b.Write(r.Value)
	default:
		if err := appendString(&b, "value", r.Value); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// rawJSON reports whether v can stand in a line as it is and be read back
// byte for byte: a JSON object or array, no surrounding space, one line.
func rawJSON(v []byte) bool {
	if len(v) < 2 || !(v[0] == '{' && v[len(v)-1] == '}' || v[0] == '[' && v[len(v)-1] == ']') {
		return false
	}
	return !bytes.ContainsAny(v, "\r\n") && json.Valid(v)
}

func appendString(b *bytes.Buffer, what string, s []byte) error {
	if !utf8.Valid(s) {
		return fmt.Errorf("%s is not valid UTF-8: it cannot be written as a JSON string", what)
	}
	enc, err := json.Marshal(string(s))
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	b.Write(enc)
	return nil
}

// LineError is a line Reader could not read as a record. Reading can go on
// with the next line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads records from NDJSON, one a line; blank lines are skipped.
// It holds at most one line, of at most its limit, in memory.
type Reader struct {
	in   *bufio.Reader
	max  int
	line int
	buf  []byte
}

// NewReader reads from in, refusing lines longer than max bytes
// (MaxLineBytes when max <= 0).
func NewReader(in io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxLineBytes
	}
	return &Reader{in: bufio.NewReaderSize(in, 64<<10), max: max}
}

// Line is the number, from 1, of the line Next read last.
func (r *Reader) Line() int { return r.line }

// Next returns the next record. A line that is not a record gives a
// *LineError, after which Next goes on; the end of the input gives io.EOF;
// any other error is the input's, and ends the reading.
func (r *Reader) Next() (Record, error) {
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			return Record{}, err
		}
		r.line++
		if tooLong {
			return Record{}, &LineError{Line: r.line, Err: fmt.Errorf("longer than %d bytes: not a record casus wrote", r.max)}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := ParseRecord(line)
		if err != nil {
			return Record{}, &LineError{Line: r.line, Err: err}
		}
		return rec, nil
	}
}

// readLine returns the next line without its line ending. A line over the
// limit is read to its end and dropped, so memory stays bounded.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	got := false
	for {
		chunk, err := r.in.ReadSlice('\n')
		got = got || len(chunk) > 0
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max+2 { // +2: the line ending
				tooLong, r.buf = true, r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if !got {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		break
	}
	line = bytes.TrimSuffix(r.buf, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !tooLong && len(line) > r.max {
		tooLong = true
	}
	return line, tooLong, nil
}

// notJSON reports a syntax error of a line. encoding/json quotes offending
// values whole, and a line may be 64 MiB, so the message is cut.
func notJSON(err error) error { return &syntaxError{err} }

type syntaxError struct{ err error }

func (e *syntaxError) Unwrap() error { return e.err }

func (e *syntaxError) Error() string {
	const limit = 160
	msg := e.err.Error()
	if len(msg) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return "not JSON: " + msg
}
