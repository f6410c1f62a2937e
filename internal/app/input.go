package app

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// offlineRecord is one record of an input file: raw bytes for a decoder,
// or, for Zeek TSV, an event its reader decoded (or failed to) already.
type offlineRecord struct {
	line    int
	value   []byte       // nil for a pre-decoded record
	ev      *event.Event // set when value is nil and decoding succeeded
	err     error        // a pre-decoded record that failed
	decoded bool         // the record came decoded (ev or err)
}

// recordSource yields the records of one input file; io.EOF at the end.
type recordSource interface {
	next() (offlineRecord, error)
}

// openSource picks how to read an input: Zeek TSV when asked for or, with
// format auto, when the input starts with a Zeek header; NDJSON otherwise.
func openSource(r *bufio.Reader, format string, maxBytes int) recordSource {
	if format == decode.ZeekTSV || (format == decode.Auto && isZeekTSV(r)) {
		return &tsvSource{r: zeek.NewTSVReader(r)}
	}
	return &ndjsonSource{r: r, max: maxBytes}
}

// isZeekTSV peeks at the input for the first line of a Zeek TSV log.
func isZeekTSV(r *bufio.Reader) bool {
	head, _ := r.Peek(len("#separator"))
	return bytes.Equal(head, []byte("#separator"))
}

type ndjsonSource struct {
	r    *bufio.Reader
	max  int
	line int
	eof  bool
}

func (s *ndjsonSource) next() (offlineRecord, error) {
	for !s.eof {
		s.line++
		value, n, err := readLine(s.r, s.max)
		if errors.Is(err, io.EOF) {
			s.eof = true
			if n == 0 {
				break
			}
		} else if err != nil {
			return offlineRecord{}, fmt.Errorf("line %d: %w", s.line, err)
		}
		if len(value) <= s.max && len(bytes.TrimSpace(value)) == 0 {
			continue // blank line
		}
		return offlineRecord{line: s.line, value: value}, nil
	}
	return offlineRecord{}, io.EOF
}

type tsvSource struct {
	r  *zeek.TSVReader
	ev event.Event
}

func (s *tsvSource) next() (offlineRecord, error) {
	err := s.r.Next(&s.ev)
	if errors.Is(err, io.EOF) {
		return offlineRecord{}, io.EOF
	}
	var de *decode.Error
	if err != nil && !errors.As(err, &de) {
		return offlineRecord{}, fmt.Errorf("line %d: %w", s.r.Line(), err)
	}
	rec := offlineRecord{line: s.r.Line(), decoded: true, err: err}
	if err == nil {
		rec.ev = &s.ev
	}
	return rec, nil
}
