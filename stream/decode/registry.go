package decode

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/ecs"
	"github.com/casus-sec/casus/stream/decode/falco"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/ocsf"
	"github.com/casus-sec/casus/stream/decode/suricata"
	"github.com/casus-sec/casus/stream/decode/winevt"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// DefaultMaxBytes is the record size limit when NewRegistry is given a
// non-positive one: 1 MiB, Kafka's default max.message.bytes.
const DefaultMaxBytes = 1 << 20

// Registry maps format names to decoders and enforces the checks every
// format shares (empty value, size limit). Build it once at start-up with
// Register; after that it is read-only and safe for concurrent use.
// Register must not run concurrently with the other methods.
type Registry struct {
	maxBytes int
	decoders map[string]Decoder
	sniffers []sniffer
	trees    sync.Pool // *jsontree.Tree, for sniffing
}

// NewRegistry returns an empty registry that rejects values longer than
// maxBytes (DefaultMaxBytes when maxBytes <= 0).
func NewRegistry(maxBytes int) *Registry {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Registry{maxBytes: maxBytes, decoders: make(map[string]Decoder), trees: treePool()}
}

// Default returns a registry with every built-in format:
//
//   - "ecs" (and "json", its alias): Elastic Common Schema JSON, as Beats
//     and Elastic Agent write it;
//   - "winevt": Windows event log records as JSON (evtx_dump, Winlogbeat,
//     NXLog);
//   - "zeek": Zeek JSON logs, the log type from _path or the record's shape;
//     "zeek.<type>" (zeek.conn, zeek.dns, ...) for a topic that carries one
//     log type whose records do not name it;
//   - "suricata": Suricata EVE JSON;
//   - "ocsf": OCSF 1.x events;
//   - "falco": Falco alerts as JSON;
//   - Auto, which sniffs each record's format from its shape.
//
// Sniffing tries the shapes that name themselves first (a Windows event's
// System block, Zeek's _path or uid, EVE's event_type, OCSF's class_uid,
// Falco's rule and priority) and ECS, the native format, last.
func Default(maxBytes int) *Registry {
	r := NewRegistry(maxBytes)
	r.registerSniffer(winevt.Format, winevt.New(), winevt.Sniff)
	r.registerSniffer(zeek.Format, zeek.New(), zeek.Sniff)
	r.registerSniffer(suricata.Format, suricata.New(), suricata.Sniff)
	r.registerSniffer(ocsf.Format, ocsf.New(), ocsf.Sniff)
	r.registerSniffer(falco.Format, falco.New(), falco.Sniff)
	e := ecs.New()
	r.registerSniffer(ecs.Format, e, ecs.Sniff)
	r.Register("json", e)
	for _, path := range zeek.Paths() {
		d, err := zeek.NewForPath(path)
		if err != nil {
			panic(fmt.Sprintf("decode: %v", err)) // Paths and NewForPath disagree
		}
		r.Register(zeek.Format+"."+path, d)
	}
	return r
}

// Register adds d under name. Names are matched exactly. Registering an
// empty name, a nil decoder or a name twice is a programming error and
// panics, so a wiring mistake stops the process at start-up.
func (r *Registry) Register(name string, d Decoder) {
	switch {
	case name == "":
		panic("decode: Register with an empty format name")
	case name == Auto:
		panic("decode: Register with the reserved format name " + Auto)
	case d == nil:
		panic(fmt.Sprintf("decode: Register %q with a nil decoder", name))
	}
	if _, dup := r.decoders[name]; dup {
		panic(fmt.Sprintf("decode: format %q registered twice", name))
	}
	r.decoders[name] = d
}

// Get returns the decoder registered under name.
func (r *Registry) Get(name string) (Decoder, bool) {
	d, ok := r.decoders[name]
	return d, ok
}

// Names returns the format names Decode accepts, sorted: the registered
// ones and Auto.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.decoders)+1)
	names = append(names, Auto)
	for n := range r.decoders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MaxBytes returns the size limit the registry enforces.
func (r *Registry) MaxBytes() int { return r.maxBytes }

// Decode decodes data with the decoder registered under format, or, for
// Auto, with the format the record's shape names. See DecodeAs.
func (r *Registry) Decode(format string, data []byte, ev *event.Event) error {
	_, err := r.DecodeAs(format, data, ev)
	return err
}

// DecodeAs decodes data with the decoder registered under format and
// returns the format used: format itself, or the sniffed one for Auto ("" if
// none matched). It rejects an empty value (ReasonEmpty), one longer than
// the limit (ReasonTooLarge) and a compressed one (ReasonCompressed) before
// looking at the format (ReasonUnknownFormat); on those failures ev is
// reset, as a decoder would.
// Their Error.Format is the format name only when it is known, so it stays
// a bounded value.
func (r *Registry) DecodeAs(format string, data []byte, ev *event.Event) (string, error) {
	d, ok := r.decoders[format]
	known := format
	if !ok && format != Auto {
		known = ""
	}
	switch {
	case decerr.Blank(data):
		*ev = event.Event{}
		return known, decerr.New(known, ReasonEmpty, "", nil)
	case len(data) > r.maxBytes:
		*ev = event.Event{}
		return known, decerr.New(known, ReasonTooLarge, "",
			fmt.Errorf("value of %d bytes exceeds the limit of %d", len(data), r.maxBytes))
	case compression(data) != "":
		*ev = event.Event{}
		return known, decerr.New(known, ReasonCompressed, "",
			fmt.Errorf("the value starts with %s magic bytes: casus reads uncompressed records; let the producer compress with Kafka's compression.type instead", compression(data)))
	case format == Auto:
		return r.sniff(data, ev)
	case !ok:
		*ev = event.Event{}
		return "", decerr.New("", ReasonUnknownFormat, "",
			fmt.Errorf("no decoder for format %q (have %v)", decerr.Truncate(format, 64), r.Names()))
	}
	return format, d.Decode(data, ev)
}

// compression names the codec whose frame header starts data, or "". A
// value that starts with one was compressed by the application rather than
// by Kafka, whose batch compression consumers never see.
func compression(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x1f\x8b")):
		return "gzip"
	case bytes.HasPrefix(data, []byte("\x28\xb5\x2f\xfd")):
		return "zstd"
	case bytes.HasPrefix(data, []byte("\x04\x22\x4d\x18")):
		return "LZ4 frame"
	case bytes.HasPrefix(data, []byte("\xff\x06\x00\x00sNaPpY")):
		return "snappy framing"
	}
	return ""
}
