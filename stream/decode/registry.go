package decode

import (
	"fmt"
	"slices"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/ecs"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

var (
	_ Decoder = (*ecs.Decoder)(nil)
	_ Decoder = (*winevt.Decoder)(nil)
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
}

// NewRegistry returns an empty registry that rejects values longer than
// maxBytes (DefaultMaxBytes when maxBytes <= 0).
func NewRegistry(maxBytes int) *Registry {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Registry{maxBytes: maxBytes, decoders: make(map[string]Decoder)}
}

// Default returns a registry with every built-in format: "ecs", "json" as
// an alias of ecs, and "winevt" (Windows event log records as JSON).
func Default(maxBytes int) *Registry {
	r := NewRegistry(maxBytes)
	e := ecs.New()
	r.Register("ecs", e)
	r.Register("json", e)
	r.Register("winevt", winevt.New())
	return r
}

// Register adds d under name. Names are matched exactly. Registering an
// empty name, a nil decoder or a name twice is a programming error and
// panics, so a wiring mistake stops the process at start-up.
func (r *Registry) Register(name string, d Decoder) {
	switch {
	case name == "":
		panic("decode: Register with an empty format name")
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

// Names returns the registered format names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.decoders))
	for n := range r.decoders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MaxBytes returns the size limit the registry enforces.
func (r *Registry) MaxBytes() int { return r.maxBytes }

// Decode decodes data with the decoder registered under format. It rejects
// an empty value (ReasonEmpty) and one longer than the limit
// (ReasonTooLarge) before looking at the format (ReasonUnknownFormat); on
// those failures ev is reset, as a decoder would. Their Error.Format is the
// format name only when it is registered, so it stays a bounded value.
func (r *Registry) Decode(format string, data []byte, ev *event.Event) error {
	d, ok := r.decoders[format]
	known := format
	if !ok {
		known = ""
	}
	switch {
	case len(data) == 0:
		*ev = event.Event{}
		return decerr.New(known, ReasonEmpty, "", nil)
	case len(data) > r.maxBytes:
		*ev = event.Event{}
		return decerr.New(known, ReasonTooLarge, "",
			fmt.Errorf("value of %d bytes exceeds the limit of %d", len(data), r.maxBytes))
	case !ok:
		*ev = event.Event{}
		return decerr.New("", ReasonUnknownFormat, "",
			fmt.Errorf("no decoder for format %q (have %v)", decerr.Truncate(format, 64), r.Names()))
	}
	return d.Decode(data, ev)
}
