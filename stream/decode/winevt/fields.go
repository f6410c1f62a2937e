package winevt

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// linearMax is how many fields are searched linearly before fieldSet
// builds an index: typical records have a few dozen fields, which a linear
// search compares faster than a map is built.
const linearMax = 64

// fieldSet collects ev.Fields: each name once, in order of first
// appearance, the last value winning. The first `system` fields are the
// System values; a data value of the same name never replaces them, so
// EventData cannot forge EventID, Channel or Provider_Name.
type fieldSet struct {
	fields []event.Field
	index  map[string]int
	system int
}

func (s *fieldSet) find(name string) int {
	if s.index != nil {
		if i, ok := s.index[name]; ok {
			return i
		}
		return -1
	}
	for i := range s.fields {
		if s.fields[i].Name == name {
			return i
		}
	}
	return -1
}

// get returns the value of field name.
func (s *fieldSet) get(name string) (string, bool) {
	if i := s.find(name); i >= 0 {
		return s.fields[i].Value, true
	}
	return "", false
}

// set stores name=value; it reports false when a new name would exceed
// MaxFields.
func (s *fieldSet) set(name, value string) bool {
	if i := s.find(name); i >= 0 {
		if i >= s.system {
			s.fields[i].Value = value
		}
		return true
	}
	if len(s.fields) >= MaxFields {
		return false
	}
	s.fields = append(s.fields, event.Field{Name: name, Value: value})
	switch {
	case s.index != nil:
		s.index[name] = len(s.fields) - 1
	case len(s.fields) > linearMax:
		s.index = make(map[string]int, 2*len(s.fields))
		for i := range s.fields {
			s.index[s.fields[i].Name] = i
		}
	}
	return true
}

// setSystem stores a System field; call it before any data field.
func (s *fieldSet) setSystem(name, value string) {
	s.set(name, value)
	s.system = len(s.fields)
}

// walker turns the data parts of one record (EventData, UserData, the top
// level of NXLog records) into fields.
type walker struct {
	t         *jsontree.Tree
	fs        fieldSet
	container string   // dotted path of the part being read, for errors
	unnamed   []string // values of EventData Data elements without a Name
	dataAt    int      // index of the "Data" field holding them, -1 before the first
}

func (w *walker) emit(name, value string) error {
	if name == "" {
		return nil // nothing could address it
	}
	// Some providers (Windows Defender) name data "Threat Name"; Sigma
	// rules address it as ThreatName, the name without spaces.
	if strings.Contains(name, " ") {
		name = strings.ReplaceAll(name, " ", "")
		if name == "" {
			return nil
		}
	}
	if !w.fs.set(name, value) {
		return decerr.New(Format, decerr.TooLarge, w.container,
			fmt.Errorf("more than %d fields", MaxFields))
	}
	return nil
}

// flatten emits every leaf value under i by its own key; name is the key
// of i itself. Attribute members are skipped; "#text" beside content
// members counts as i's own text.
func (w *walker) flatten(name string, i int32) error {
	t := w.t
	if s, ok, isLeaf := leaf(t, i); isLeaf {
		if ok {
			return w.emit(name, s)
		}
		return nil
	}
	object := t.Kind(i) == jsontree.Object
	for c := t.First(i); c >= 0; c = t.Next(c) {
		key := name
		if object {
			switch {
			case t.KeyIs(c, "#text"):
			case isAttrKey(t, c):
				continue
			default:
				key = t.Key(c)
			}
		}
		if err := w.flatten(key, c); err != nil {
			return err
		}
	}
	return nil
}

// eventData emits the members of an EventData object (or of Winlogbeat's
// winlog.event_data). Members are named values, except "Data" and "#text",
// which hold <Data> elements: named ones ({"#attributes":{"Name":n},
// "#text":v}) become field n, unnamed ones are collected for "Data".
func (w *walker) eventData(i int32) error {
	t := w.t
	switch t.Kind(i) {
	case jsontree.Null:
		return nil
	case jsontree.Object:
	default: // a bare value or list: the content of unnamed Data elements
		if err := w.dataElements(i); err != nil {
			return err
		}
		return w.finishUnnamed()
	}
	for c := t.First(i); c >= 0; c = t.Next(c) {
		var err error
		switch {
		case t.KeyIs(c, "Data") || t.KeyIs(c, "#text"):
			err = w.dataElements(c)
		case isAttrKey(t, c):
		default:
			err = w.flatten(t.Key(c), c)
		}
		if err != nil {
			return err
		}
	}
	return w.finishUnnamed()
}

// dataElements reads the value of an EventData "Data" member: one element
// or a list of them.
func (w *walker) dataElements(i int32) error {
	t := w.t
	if t.Kind(i) != jsontree.Array {
		return w.dataElement(i)
	}
	for c := t.First(i); c >= 0; c = t.Next(c) {
		if err := w.dataElement(c); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) dataElement(i int32) error {
	t := w.t
	switch t.Kind(i) {
	case jsontree.Null:
		return nil
	case jsontree.String, jsontree.Number, jsontree.Bool:
		s, _ := scalar(t, i)
		return w.addUnnamed(s)
	case jsontree.Array: // {"#text":["a","b"]}: several unnamed values
		return w.dataElements(i)
	}
	name, _ := text(t, t.Child(i, "#attributes"), "Name")
	if name == "" {
		name, _ = text(t, i, "@Name")
	}
	txt := t.Child(i, "#text")
	switch {
	case name != "":
		// <Data Name="x"/> is present with empty content.
		s := ""
		if txt >= 0 {
			s, _, _ = leaf(t, txt)
		}
		return w.emit(name, s)
	case txt >= 0:
		return w.dataElements(txt)
	}
	// An object of named values in Data's place: read it like EventData.
	return w.flatten("Data", i)
}

func (w *walker) addUnnamed(s string) error {
	if w.dataAt < 0 {
		if err := w.emit("Data", ""); err != nil {
			return err
		}
		w.dataAt = w.fs.find("Data")
	}
	w.unnamed = append(w.unnamed, s)
	return nil
}

// finishUnnamed stores the unnamed Data values: all of them, joined with
// newlines, in "Data" (Sigma rules match it as the container of the event
// data), and each in Data1, Data2, ... when there is more than one.
func (w *walker) finishUnnamed() error {
	if len(w.unnamed) == 0 {
		return nil
	}
	if w.dataAt >= w.fs.system {
		w.fs.fields[w.dataAt].Value = strings.Join(w.unnamed, "\n")
	}
	if len(w.unnamed) > 1 {
		for k, s := range w.unnamed {
			if err := w.emit("Data"+strconv.Itoa(k+1), s); err != nil {
				return err
			}
		}
	}
	w.unnamed = w.unnamed[:0]
	w.dataAt = -1
	return nil
}
