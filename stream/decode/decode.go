package decode

import "github.com/casus-sec/casus/classify/event"

// Decoder decodes one record value of a single format into a caller-owned
// event. See the package documentation for the full contract: reset ev
// first, return *Error on bad input, never panic, keep no reference into
// data, be safe for concurrent use.
type Decoder interface {
	Decode(data []byte, ev *event.Event) error
}

// DecoderFunc adapts a function to a Decoder.
type DecoderFunc func(data []byte, ev *event.Event) error

// Decode calls f.
func (f DecoderFunc) Decode(data []byte, ev *event.Event) error { return f(data, ev) }
