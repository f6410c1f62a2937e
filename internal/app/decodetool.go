package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
)

// DecodeOptions configure casus decode.
type DecodeOptions struct {
	Format         string // a registered format, decode.Auto or decode.ZeekTSV
	Source         string // the input's name in messages: the file name, or "stdin"
	MaxRecordBytes int
	Stdout, Stderr io.Writer
}

// DecodeSummary counts what casus decode saw.
type DecodeSummary struct {
	Records int
	Bad     int
	Formats map[string]int // records decoded, by the format used
	Reasons map[decode.Reason]int
}

// Decode prints the canonical event of every record of in as one JSON
// line: the format used, the Sigma logsource, the ECS fields that are set
// and the source's own fields, the two kinds of names a rule can use. Bad
// records are reported on Stderr with their line and counted; decoding
// goes on.
func Decode(in io.Reader, opt DecodeOptions) (DecodeSummary, error) {
	sum := DecodeSummary{Formats: map[string]int{}, Reasons: map[decode.Reason]int{}}
	if opt.MaxRecordBytes <= 0 {
		opt.MaxRecordBytes = decode.DefaultMaxBytes
	}
	reg := decode.Default(opt.MaxRecordBytes)
	out := bufio.NewWriter(opt.Stdout)
	defer out.Flush()
	src := openSource(bufio.NewReaderSize(in, 64<<10), opt.Format, opt.MaxRecordBytes)
	var ev event.Event
	var line []byte
	for {
		rec, err := src.next()
		if errors.Is(err, io.EOF) {
			return sum, nil
		}
		if err != nil {
			return sum, fmt.Errorf("read %s %w", opt.Source, err)
		}
		sum.Records++
		format, derr := decode.ZeekTSV, rec.err
		e := rec.ev
		if !rec.decoded {
			format, derr = reg.DecodeAs(opt.Format, rec.value, &ev)
			e = &ev
		}
		if derr != nil {
			sum.Bad++
			sum.Reasons[decode.ReasonOf(derr)]++
			fmt.Fprintf(opt.Stderr, "%s:%d: %v\n", opt.Source, rec.line, derr)
			continue
		}
		sum.Formats[format]++
		line = appendCanonical(line[:0], rec.line, format, e)
		if _, err := out.Write(line); err != nil {
			return sum, fmt.Errorf("write: %w", err)
		}
	}
}

// appendCanonical renders an event for people writing rules, keys in a
// stable order: the struct's for ECS names, the record's for native ones.
func appendCanonical(b []byte, line int, format string, e *event.Event) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(line), 10)
	b = append(b, `,"format":`...)
	b = appendString(b, format)
	b = append(b, `,"logsource":{`...)
	sep := ""
	for _, kv := range [...][2]string{{"product", e.Logsource.Product}, {"category", e.Logsource.Category}, {"service", e.Logsource.Service}} {
		if kv[1] != "" {
			b = append(b, sep...)
			b = appendString(b, kv[0])
			b = append(b, ':')
			b = appendString(b, kv[1])
			sep = ","
		}
	}
	b = append(b, `},"event":{`...)
	sep = ""
	for _, name := range event.FieldNames() {
		v, ok := e.Get(name)
		switch {
		case !ok:
			continue
		case name == "@timestamp":
			v = e.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		b = append(b, sep...)
		b = appendString(b, name)
		b = append(b, ':')
		switch name {
		case "threat.technique.id":
			b = append(b, '[')
			for i, t := range e.ThreatTechniques {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, t)
			}
			b = append(b, ']')
		default:
			if _, numeric := numericField[name]; numeric {
				b = append(b, v...)
			} else {
				b = appendString(b, v)
			}
		}
		sep = ","
	}
	if len(e.Labels) > 0 {
		b = append(b, sep...)
		lb, _ := json.Marshal(e.Labels) // sorted keys
		b = append(b, `"labels":`...)
		b = append(b, lb...)
	}
	b = append(b, `},"fields":{`...)
	for i, f := range e.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendString(b, f.Value)
	}
	return append(b, "}}\n"...)
}

// numericField are the ECS names whose values print as JSON numbers.
var numericField = map[string]struct{}{
	"event.severity": {}, "source.port": {}, "destination.port": {}, "network.bytes": {},
	"network.packets": {}, "http.response.status_code": {}, "ics.function_code": {}, "ics.unit_id": {},
}

// appendString appends s as a JSON string, without escaping <, > and &,
// which are common in command lines and URLs.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
