package decode_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
)

const flow = `{"@timestamp":"2025-03-14T09:31:07Z","source":{"ip":"203.0.113.77","port":51544},"destination":{"ip":"10.20.1.15","port":445},"network":{"transport":"tcp","packets":1}}`

func TestDefault(t *testing.T) {
	r := decode.Default(0)
	want := []string{"auto", "ecs", "falco", "json", "ocsf", "suricata", "winevt", "zeek",
		"zeek.conn", "zeek.dnp3", "zeek.dns", "zeek.http", "zeek.modbus", "zeek.notice", "zeek.ssl", "zeek.weird"}
	if got := r.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	if r.MaxBytes() != decode.DefaultMaxBytes {
		t.Errorf("MaxBytes() = %d, want %d", r.MaxBytes(), decode.DefaultMaxBytes)
	}
	for _, format := range []string{"ecs", "json"} {
		var ev event.Event
		if err := r.Decode(format, []byte(flow), &ev); err != nil {
			t.Fatalf("Decode(%s): %v", format, err)
		}
		if ev.DestinationPort != 445 || ev.SourceIP != "203.0.113.77" || ev.NetworkPackets != 1 {
			t.Errorf("Decode(%s) = %+v", format, ev)
		}
	}
	if _, ok := r.Get("cef"); ok {
		t.Error(`Get("cef") found a decoder that was never registered`)
	}
}

func TestRegistryDecodeErrors(t *testing.T) {
	const limit = 64
	r := decode.Default(limit)
	for _, tc := range []struct {
		name   string
		format string
		data   string
		reason decode.Reason
		field  string
		msg    string
	}{
		{name: "empty", format: "ecs", data: "", reason: decode.ReasonEmpty, msg: "decode ecs: empty"},
		{name: "empty beats unknown format", format: "nope", data: "", reason: decode.ReasonEmpty, msg: "decode: empty"},
		{name: "too large", format: "ecs", data: `{"labels":{"k":"` + strings.Repeat("v", limit) + `"}}`,
			reason: decode.ReasonTooLarge, msg: "exceeds the limit of 64"},
		{name: "unknown format", format: "cef", data: `{}`, reason: decode.ReasonUnknownFormat,
			msg: `decode: unknown_format: no decoder for format "cef" (have [auto ecs falco json ocsf suricata winevt zeek zeek.conn`},
		{name: "gzip value", format: "auto", data: "\x1f\x8b\x08\x00garbage", reason: decode.ReasonCompressed,
			msg: "decode auto: compressed: the value starts with gzip magic bytes"},
		{name: "zstd value", format: "ecs", data: "\x28\xb5\x2f\xfd\x00", reason: decode.ReasonCompressed, msg: "decode ecs: compressed: the value starts with zstd"},
		{name: "lz4 value", format: "zeek", data: "\x04\x22\x4d\x18\x64", reason: decode.ReasonCompressed, msg: "LZ4 frame"},
		{name: "snappy value", format: "suricata", data: "\xff\x06\x00\x00sNaPpY\x00", reason: decode.ReasonCompressed, msg: "snappy framing"},
		{name: "compressed beats unknown format", format: "cef", data: "\x1f\x8b", reason: decode.ReasonCompressed, msg: "decode: compressed"},
		{name: "decoder error passes through", format: "json", data: `{"source":{"port":{}}}`,
			reason: decode.ReasonWrongType, field: "source.port",
			msg: "decode ecs: wrong_type: field source.port: want number, got object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := event.Event{HostName: "stale", Labels: map[string]string{"a": "b"}}
			err := r.Decode(tc.format, []byte(tc.data), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("Decode = %v, want a *decode.Error", err)
			}
			if de.Reason != tc.reason || de.Field != tc.field {
				t.Errorf("reason %q field %q, want %q %q", de.Reason, de.Field, tc.reason, tc.field)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("event not reset: %+v", ev)
			}
		})
	}
}

func TestRegistryLimitIsInclusive(t *testing.T) {
	r := decode.Default(len(flow))
	var ev event.Event
	if err := r.Decode("ecs", []byte(flow), &ev); err != nil {
		t.Fatalf("value of exactly the limit: %v", err)
	}
}

func TestRegisterCustomDecoder(t *testing.T) {
	r := decode.NewRegistry(-1)
	if r.MaxBytes() != decode.DefaultMaxBytes {
		t.Errorf("MaxBytes() = %d, want the default for a negative limit", r.MaxBytes())
	}
	r.Register("upper", decode.DecoderFunc(func(data []byte, ev *event.Event) error {
		*ev = event.Event{HostName: strings.ToUpper(string(data))}
		return nil
	}))
	d, ok := r.Get("upper")
	if !ok {
		t.Fatal("Get(upper) not found")
	}
	var ev event.Event
	if err := d.Decode([]byte("fs01"), &ev); err != nil || ev.HostName != "FS01" {
		t.Errorf("Decode = %v, %+v", err, ev)
	}
}

func TestRegisterPanicsOnWiringMistakes(t *testing.T) {
	nop := decode.DecoderFunc(func([]byte, *event.Event) error { return nil })
	for _, tc := range []struct {
		name string
		reg  func(r *decode.Registry)
	}{
		{name: "empty name", reg: func(r *decode.Registry) { r.Register("", nop) }},
		{name: "nil decoder", reg: func(r *decode.Registry) { r.Register("x", nil) }},
		{name: "duplicate", reg: func(r *decode.Registry) { r.Register("ecs", nop) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			tc.reg(decode.Default(0))
		})
	}
}

func TestReasonOf(t *testing.T) {
	missing := &decode.Error{Format: "ocsf", Reason: decode.ReasonMissingField, Field: "class_uid"}
	for _, tc := range []struct {
		name string
		err  error
		want decode.Reason
	}{
		{name: "nil", err: nil, want: ""},
		{name: "plain error", err: errors.New("boom"), want: decode.ReasonMalformed},
		{name: "decode error", err: missing, want: decode.ReasonMissingField},
		{name: "wrapped", err: fmt.Errorf("record 7: %w", missing), want: decode.ReasonMissingField},
		{name: "empty reason", err: &decode.Error{Format: "x"}, want: decode.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decode.ReasonOf(tc.err); got != tc.want {
				t.Errorf("ReasonOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("want number, got object")
	for _, tc := range []struct {
		err  *decode.Error
		want string
	}{
		{&decode.Error{Format: "ecs", Reason: decode.ReasonWrongType, Field: "source.port", Err: cause},
			"decode ecs: wrong_type: field source.port: want number, got object"},
		{&decode.Error{Format: "ocsf", Reason: decode.ReasonMissingField, Field: "class_uid"},
			"decode ocsf: missing_field: field class_uid"},
		{&decode.Error{Reason: decode.ReasonEmpty}, "decode: empty"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	wrapped := &decode.Error{Reason: decode.ReasonMalformed, Err: cause}
	if !errors.Is(wrapped, cause) {
		t.Error("errors.Is does not see the cause through Unwrap")
	}
}

func TestReasonsAreDistinctAndComplete(t *testing.T) {
	want := []string{"empty", "too_large", "invalid_utf8", "malformed", "wrong_type", "missing_field", "too_deep", "unknown_format", "compressed"}
	var got []string
	for _, r := range decode.Reasons() {
		got = append(got, string(r))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Reasons() = %q, want %q", got, want)
	}
}

func TestSelect(t *testing.T) {
	r := decode.Default(0)
	for _, tc := range []struct {
		configured, contentType string
		want                    string
		err                     string
	}{
		{"winevt", "application/json; format=ecs", "winevt", ""}, // the topic's configuration wins
		{"", "", decode.Auto, ""},
		{decode.Auto, "application/json", decode.Auto, ""},
		{decode.Auto, "application/x-ndjson; charset=utf-8", decode.Auto, ""},
		{decode.Auto, "application/json; format=winevt", "winevt", ""},
		{decode.Auto, "Application/JSON; Format=ecs", "ecs", ""},
		{"", "application/vnd.casus.winevt+json", "winevt", ""},
		{"", "application/vnd.casus.ecs+json; charset=utf-8", "ecs", ""},
		{"", "application/vnd.casus.auto+json", decode.Auto, ""},
		{"", "application/vnd.casus.cef+json", "", `names format "cef"`},
		{"", "application/json; format=" + strings.Repeat("x", 100), "", `names format "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."`},
		{"", "application/json; format=", "", "content-type"},
		{"", "not a media type;;", "", `header "not a media type;;"`},
	} {
		got, err := r.Select(tc.configured, tc.contentType)
		if tc.err != "" {
			var de *decode.Error
			if !errors.As(err, &de) || de.Reason != decode.ReasonUnknownFormat || de.Field != "content-type" ||
				!strings.Contains(err.Error(), tc.err) {
				t.Errorf("Select(%q, %q) = %q, %v; want unknown_format on content-type containing %q", tc.configured, tc.contentType, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Select(%q, %q) = %q, %v; want %q", tc.configured, tc.contentType, got, err, tc.want)
		}
	}
}
