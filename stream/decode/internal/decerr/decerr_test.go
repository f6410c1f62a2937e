package decerr

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg..."},
		{"ééééé", 8, "éé..."}, // no split rune: 2 runes of 2 bytes, then the mark
		{"abc", 2, "..."},
	} {
		if got := Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestNewBoundsField(t *testing.T) {
	field := "labels." + strings.Repeat("ü", 200)
	e := New("ecs", WrongType, field, nil)
	if len(e.Field) > MaxFieldLen || !utf8.ValidString(e.Field) || !strings.HasPrefix(e.Field, "labels.") {
		t.Errorf("Field = %q (%d bytes), want at most %d bytes of valid UTF-8", e.Field, len(e.Field), MaxFieldLen)
	}
}
