package sigma

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

func TestEncodeValue(t *testing.T) {
	tests := []struct {
		value string
		enc   []string
		want  []string
	}{
		// The Sigma specification's examples.
		{"/bin/bash", []string{"base64"}, []string{"L2Jpbi9iYXNo"}},
		{"/bin/sh", []string{"base64offset"}, []string{"L2Jpbi9za", "9iaW4vc2", "vYmluL3No"}},
		{"/bin/bash", []string{"base64offset"}, []string{"L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"}},
		{"ping", []string{"wide"}, []string{"p\x00i\x00n\x00g\x00"}},
		{"ping", []string{"utf16le"}, []string{"p\x00i\x00n\x00g\x00"}},
		{"ping", []string{"utf16be"}, []string{"\x00p\x00i\x00n\x00g"}},
		{"ping", []string{"utf16"}, []string{"\xff\xfep\x00i\x00n\x00g\x00"}},
		{"ping", []string{"wide", "base64"}, []string{"cABpAG4AZwA="}},
		// Escaped wildcards are literal; a backslash in the output is escaped.
		{`a\*b`, []string{"utf16le"}, []string{"a\x00\\*\x00b\x00"}},
	}
	for _, tt := range tests {
		got, err := encodeValue(tt.value, tt.enc)
		if err != nil {
			t.Fatalf("%q %v: %v", tt.value, tt.enc, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q %v = %q, want %q", tt.value, tt.enc, got, tt.want)
		}
	}
}

// base64offset must find the value wherever it sits in a longer encoded
// text: every alignment of every prefix length.
func TestBase64OffsetFindsEveryAlignment(t *testing.T) {
	const v = "Invoke-Mimikatz"
	alts, err := encodeValue(v, []string{"base64offset"})
	if err != nil {
		t.Fatal(err)
	}
	for pre := 0; pre < 6; pre++ {
		for post := 0; post < 4; post++ {
			text := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pre) + v + strings.Repeat("y", post)))
			found := false
			for _, a := range alts {
				found = found || strings.Contains(text, a)
			}
			if !found {
				t.Errorf("prefix %d suffix %d: none of %q in %q", pre, post, alts, text)
			}
		}
	}
}

func TestEncodingModifiersMatch(t *testing.T) {
	ps := "powershell -enc " + base64.StdEncoding.EncodeToString([]byte(utf16Bytes("IEX (New-Object Net.WebClient)", false, false)))
	rs := compileOne(t, detectionRule("process_creation", `sel:
  CommandLine|wide|base64offset|contains: 'New-Object Net.WebClient'
condition: sel
`), Options{})
	hit := &event.Event{EventCategory: "process", ProcessCommandLine: ps}
	if got := matchIDs(rs, hit); len(got) != 1 {
		t.Errorf("encoded command line: fired %v, want r1", got)
	}
	miss := &event.Event{EventCategory: "process", ProcessCommandLine: "powershell -enc " + base64.StdEncoding.EncodeToString([]byte(utf16Bytes("Get-Date", false, false)))}
	if got := matchIDs(rs, miss); len(got) != 0 {
		t.Errorf("other encoded command: fired %v, want none", got)
	}
}

func TestFieldRef(t *testing.T) {
	tests := []struct {
		name, detection string
		ev              event.Event
		want            bool
	}{
		{"equal", "sel:\n  Image|fieldref: ParentImage\ncondition: sel", proc(`C:\a\x.exe`, `c:\A\X.EXE`), true},
		{"different", "sel:\n  Image|fieldref: ParentImage\ncondition: sel", proc(`C:\a\x.exe`, `C:\a\y.exe`), false},
		{"cased differs", "sel:\n  Image|fieldref|cased: ParentImage\ncondition: sel", proc(`C:\a\x.exe`, `C:\A\X.EXE`), false},
		{"other absent", "sel:\n  Image|fieldref: ParentImage\ncondition: sel", proc(`C:\a\x.exe`, ``), false},
		{"endswith", "sel:\n  Image|fieldref|endswith: OriginalFileName\ncondition: sel",
			withField(proc(`C:\a\x.exe`, ``), "OriginalFileName", "X.exe"), true},
		{"contains", "sel:\n  CommandLine|fieldref|contains: User\ncondition: sel",
			withField(withField(proc(`C:\a\x.exe`, ``), "CommandLine", "runas /user:bob cmd"), "User", "bob"), true},
		{"negated", "sel:\n  Image|fieldref: ParentImage\ncondition: not sel", proc(`C:\a\x.exe`, `C:\a\y.exe`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := compileOne(t, detectionRule("process_creation", tt.detection), Options{})
			if got := len(matchIDs(rs, &tt.ev)) == 1; got != tt.want {
				t.Errorf("fired %v, want %v", got, tt.want)
			}
		})
	}
}

func proc(image, parent string) event.Event {
	return event.Event{EventCategory: "process", EventType: "start", ProcessExecutable: image, ProcessParentExecutable: parent}
}

func withField(e event.Event, name, value string) event.Event {
	e.Fields = append(slices.Clone(e.Fields), event.Field{Name: name, Value: value})
	return e
}
