package decode

import (
	"fmt"
	"mime"
	"strconv"
	"strings"
	"sync"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// Auto is the format name that selects a format per record: the one a
// content-type header names, else the one whose shape the record has.
const Auto = "auto"

// treeDecoder is a JSON format that can decode from an already parsed
// record, so sniffing parses a record once.
type treeDecoder interface {
	Decoder
	DecodeTree(t *jsontree.Tree, ev *event.Event) error
}

// sniffer is one candidate format for Auto, in the order they are tried.
type sniffer struct {
	name  string
	sniff func(t *jsontree.Tree) bool
	dec   treeDecoder
}

// registerSniffer registers d under name and makes it a candidate for
// Auto. Candidates are tried in registration order: the most specific
// shapes first, the catch-all last.
func (r *Registry) registerSniffer(name string, d treeDecoder, sniff func(*jsontree.Tree) bool) {
	r.Register(name, d)
	r.sniffers = append(r.sniffers, sniffer{name: name, sniff: sniff, dec: d})
}

// maxSniffKeys bounds how many member names an error quotes.
const maxSniffKeys = 8

// sniff parses data once, picks the first candidate whose shape it has and
// decodes with it. It returns the format used ("" when none).
func (r *Registry) sniff(data []byte, ev *event.Event) (string, error) {
	*ev = event.Event{}
	if tsvHeader(data) {
		return "", decerr.New(Auto, decerr.UnknownFormat, "",
			fmt.Errorf("a Zeek TSV log line: TSV logs are files read with --format %s, not records", ZeekTSV))
	}
	t := r.trees.Get().(*jsontree.Tree)
	defer func() {
		t.Reset()
		if t.Cap() <= maxPooledNodes {
			r.trees.Put(t)
		}
	}()
	if err := t.Parse(Auto, data, jsontree.Limits{}); err != nil {
		return "", err
	}
	for _, s := range r.sniffers {
		if s.sniff(t) {
			return s.name, s.dec.DecodeTree(t, ev)
		}
	}
	return "", decerr.New(Auto, decerr.UnknownFormat, "",
		fmt.Errorf("no format recognises the record (members: %s)", memberNames(t)))
}

// maxPooledNodes keeps a tree a huge record grew out of the pool.
const maxPooledNodes = 4096

// memberNames quotes the first top-level member names of a record.
func memberNames(t *jsontree.Tree) string {
	var b strings.Builder
	n := 0
	for c := t.First(jsontree.Root); c >= 0; c = t.Next(c) {
		if n == maxSniffKeys {
			b.WriteString(", ...")
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(decerr.Truncate(t.Key(c), 32)))
		n++
	}
	if n == 0 {
		return "none"
	}
	return b.String()
}

// ZeekTSV is the format name of Zeek's tab-separated log files. It is read
// from files by casus classify and casus decode, not record by record.
const ZeekTSV = zeek.TSVFormat

func tsvHeader(data []byte) bool {
	return len(data) > 0 && data[0] == '#'
}

// contentTypePrefix is casus's vendor media type: application/vnd.casus.<format>+json.
const contentTypePrefix = "vnd.casus."

// FormatOfContentType returns the format a content-type header names: its
// format parameter (application/json; format=suricata) or casus's vendor
// type (application/vnd.casus.suricata+json). A header that names no
// format (plain application/json, or none) gives "" and no error; one that
// names a format the registry does not have is an unknown_format error
// naming the header, so the record is dead-lettered rather than guessed at.
func (r *Registry) FormatOfContentType(contentType string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", decerr.New("", decerr.UnknownFormat, "content-type",
			fmt.Errorf("header %q: %w", decerr.Truncate(contentType, 64), err))
	}
	name := params["format"]
	if sub, ok := strings.CutPrefix(mt, "application/"+contentTypePrefix); ok && name == "" {
		name = strings.TrimSuffix(sub, "+json")
	}
	if name == "" {
		return "", nil
	}
	if _, ok := r.decoders[name]; !ok && name != Auto {
		return "", decerr.New("", decerr.UnknownFormat, "content-type",
			fmt.Errorf("header %q names format %q (have %v)", decerr.Truncate(contentType, 64),
				decerr.Truncate(name, 32), r.Names()))
	}
	return name, nil
}

// Select returns the format to decode a record with: the configured one,
// unless it is Auto or empty; then the format the content-type header
// names; else Auto, which sniffs.
func (r *Registry) Select(configured, contentType string) (string, error) {
	if configured != "" && configured != Auto {
		return configured, nil
	}
	f, err := r.FormatOfContentType(contentType)
	if err != nil || f != "" {
		return f, err
	}
	return Auto, nil
}

// treePool makes the pool of parse trees for sniffing.
func treePool() sync.Pool {
	return sync.Pool{New: func() any { return new(jsontree.Tree) }}
}
