package zeek

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// TSVFormat is the name the TSV reader reports in its errors.
const TSVFormat = "zeek-tsv"

// Limits of the TSV reader.
const (
	// DefaultMaxLineBytes bounds one line: a longer row is refused
	// (too_large) and skipped.
	DefaultMaxLineBytes = 1 << 20
	// MaxColumns bounds the columns of a #fields header.
	MaxColumns = MaxFields
)

// TSVOption configures a TSVReader.
type TSVOption func(*TSVReader)

// WithMaxLineBytes sets the longest line accepted (DefaultMaxLineBytes
// when n <= 0).
func WithMaxLineBytes(n int) TSVOption {
	return func(r *TSVReader) {
		if n > 0 {
			r.maxLine = n
		}
	}
}

// WithTSVPath sets the log type of rows whose header has no #path (Zeek
// always writes one; hand-cut files may not).
func WithTSVPath(path string) TSVOption {
	return func(r *TSVReader) { r.defPath = path }
}

// TSVReader reads Zeek's tab-separated ASCII logs (LogAscii's default
// format) row by row into events. A stream may hold several logs one after
// another, each with its own header block. It is not safe for concurrent
// use.
type TSVReader struct {
	br      *bufio.Reader
	m       *mapper
	maxLine int
	defPath string

	line int // number of the last line read
	row  int // line number of the row last returned

	// header state of the current log
	sep, setSep     []byte
	empty, unset    string
	path            string
	names           []string
	kinds           []kind
	haveFields      bool
	buf, val, elems []byte
	cols            [][]byte
	rec             record
}

// NewTSVReader returns a reader of Zeek TSV logs from r.
func NewTSVReader(r io.Reader, opts ...TSVOption) *TSVReader {
	t := &TSVReader{m: newMapper(), maxLine: DefaultMaxLineBytes}
	for _, o := range opts {
		o(t)
	}
	t.br = bufio.NewReaderSize(r, 64<<10)
	t.resetHeader()
	return t
}

// resetHeader restores Zeek's defaults, which a log's header then names.
func (r *TSVReader) resetHeader() {
	r.sep, r.setSep = []byte{'\t'}, []byte{','}
	r.empty, r.unset = "(empty)", "-"
	r.path = ""
	r.names, r.kinds = r.names[:0], r.kinds[:0]
	r.haveFields = false
}

// SniffTSV reports whether data starts like a Zeek TSV log.
func SniffTSV(prefix []byte) bool {
	return bytes.HasPrefix(prefix, []byte("#separator"))
}

// Line returns the line number (from 1) of the row Next last returned or
// failed on.
func (r *TSVReader) Line() int { return r.row }

// Next resets ev and fills it from the next data row. It returns io.EOF at
// the end of the input. A bad row gives a *decode.Error (Format
// "zeek-tsv", the line number in its message) and leaves ev reset; the
// reader then goes on with the next row. Errors reading r are returned as
// they are.
func (r *TSVReader) Next(ev *event.Event) error {
	*ev = event.Event{}
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			return err
		}
		if tooLong {
			r.row = r.line
			return r.errorf(decerr.TooLarge, "", fmt.Errorf("line longer than %d bytes", r.maxLine))
		}
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			if err := r.header(line); err != nil {
				r.row = r.line
				return err
			}
			continue
		}
		r.row = r.line
		if err := r.dataRow(line, ev); err != nil {
			*ev = event.Event{}
			return err
		}
		return nil
	}
}

// readLine returns the next line without its end of line, or tooLong
// after skipping the rest of an over-long line. The slice is valid until
// the next call.
func (r *TSVReader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.maxLine+2 { // room for "\r\n"
				tooLong = true
				r.buf = r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if len(r.buf) == 0 && !tooLong && len(chunk) == 0 {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		r.line++
		if tooLong {
			return nil, true, nil
		}
		line = bytes.TrimSuffix(r.buf, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		return line, len(line) > r.maxLine, nil
	}
}

// header reads one '#' line.
func (r *TSVReader) header(line []byte) error {
	if rest, ok := bytes.CutPrefix(line, []byte("#separator ")); ok {
		// A new log starts: its header names everything again.
		r.resetHeader()
		sep := unescapeTSV(nil, rest)
		if len(sep) == 0 {
			return r.errorf(decerr.Malformed, "", errors.New("empty #separator"))
		}
		r.sep = sep
		return nil
	}
	key, val, _ := bytes.Cut(line[1:], r.sep)
	switch string(key) {
	case "set_separator":
		if s := unescapeTSV(nil, val); len(s) > 0 {
			r.setSep = s
		}
	case "empty_field":
		r.empty = string(val)
	case "unset_field":
		r.unset = string(val)
	case "path":
		r.path = string(val)
	case "fields":
		r.names = r.names[:0]
		for f := range bytes.SplitSeq(val, r.sep) {
			if len(r.names) == MaxColumns {
				r.haveFields = false
				return r.errorf(decerr.TooLarge, "", fmt.Errorf("#fields lists more than %d columns", MaxColumns))
			}
			r.val = unescapeTSV(r.val[:0], f)
			if utf8.Valid(r.val) {
				r.names = append(r.names, r.m.name(r.val))
			} else {
				r.names = append(r.names, validText(r.val))
			}
		}
		r.kinds = r.kinds[:0]
		r.haveFields = true
	case "types":
		r.kinds = r.kinds[:0]
		for ty := range bytes.SplitSeq(val, r.sep) {
			if len(r.kinds) == MaxColumns {
				break
			}
			r.kinds = append(r.kinds, columnKind(string(ty)))
		}
	case "close":
		r.haveFields = false
	}
	return nil
}

// columnKind maps a Zeek column type to the kind its values have.
func columnKind(ty string) kind {
	switch ty {
	case "time", "interval", "double", "count", "int", "port":
		return kindNumber
	case "bool":
		return kindBool
	}
	if strings.HasPrefix(ty, "set[") || strings.HasPrefix(ty, "vector[") || strings.HasPrefix(ty, "table[") {
		return kindList
	}
	return kindText
}

// dataRow decodes one row with the current header.
func (r *TSVReader) dataRow(line []byte, ev *event.Event) error {
	if !r.haveFields {
		return r.errorf(decerr.Malformed, "", errors.New("data row before a #fields header"))
	}
	r.cols = r.cols[:0]
	for c := range bytes.SplitSeq(line, r.sep) {
		if len(r.cols) == len(r.names) {
			return r.errorf(decerr.Malformed, "", fmt.Errorf("more than the %d columns #fields names", len(r.names)))
		}
		r.cols = append(r.cols, c)
	}
	if len(r.cols) != len(r.names) {
		return r.errorf(decerr.Malformed, r.names[len(r.cols)],
			fmt.Errorf("%d columns, #fields names %d", len(r.cols), len(r.names)))
	}
	r.rec.reset()
	for i, c := range r.cols {
		name := r.names[i]
		k := kindText
		if i < len(r.kinds) {
			k = r.kinds[i]
		}
		if string(c) == r.unset {
			continue
		}
		var v []byte
		switch {
		case string(c) == r.empty:
			v = nil
		case k == kindList:
			// Elements are separated by the set separator; one written
			// inside an element is escaped, so split before unescaping.
			r.elems = r.elems[:0]
			n := 0
			for el := range bytes.SplitSeq(c, r.setSep) {
				if n > 0 {
					r.elems = append(r.elems, '\n')
				}
				r.elems = unescapeTSV(r.elems, el)
				n++
			}
			r.val = validBytes(r.val[:0], r.elems)
			v = r.val
		case k == kindBool && len(c) == 1 && (c[0] == 'T' || c[0] == 'F'):
			r.val = append(r.val[:0], "false"...)
			if c[0] == 'T' {
				r.val = append(r.val[:0], "true"...)
			}
			v = r.val
		default:
			r.elems = unescapeTSV(r.elems[:0], c)
			r.val = validBytes(r.val[:0], r.elems)
			v = r.val
		}
		if err := r.rec.add(name, v, k); err != nil {
			return r.wrap(err)
		}
	}
	r.rec.finish()
	path := r.path
	if path == "" {
		path = r.defPath
	}
	if path != "" {
		p, ok := normPath(path)
		if !ok {
			return r.errorf(decerr.WrongType, "_path", fmt.Errorf("want a Zeek log type name, got %q", decerr.Truncate(path, 32)))
		}
		path = p
	}
	if err := r.m.apply(&r.rec, path, ev); err != nil {
		r.rec.reset()
		return r.wrap(err)
	}
	r.rec.reset()
	return nil
}

// unescapeTSV appends s to dst with Zeek's \xHH escapes and "\\" resolved.
func unescapeTSV(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch {
			case s[i+1] == 'x' && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]):
				dst = append(dst, unhex(s[i+2])<<4|unhex(s[i+3]))
				i += 3
				continue
			case s[i+1] == '\\':
				dst = append(dst, '\\')
				i++
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func (r *TSVReader) errorf(reason decerr.Reason, field string, err error) error {
	return decerr.New(TSVFormat, reason, field, fmt.Errorf("line %d: %w", r.line, err))
}

// wrap turns a mapping error into this reader's format, adding the line.
func (r *TSVReader) wrap(err error) error {
	var de *decerr.Error
	if errors.As(err, &de) {
		cause := fmt.Errorf("line %d", r.line)
		if de.Err != nil {
			cause = fmt.Errorf("line %d: %w", r.line, de.Err)
		}
		return decerr.New(TSVFormat, de.Reason, de.Field, cause)
	}
	return r.errorf(decerr.Malformed, "", err)
}
