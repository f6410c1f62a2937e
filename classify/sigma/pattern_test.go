package sigma

import "testing"

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern        string
		cased, windash bool
		lead, trail    bool
		value          string
		want           bool
	}{
		{pattern: `abc`, value: "ABC", want: true},
		{pattern: `abc`, value: "abcd", want: false},
		{pattern: `abc`, cased: true, value: "ABC", want: false},
		{pattern: `abc`, cased: true, value: "abc", want: true},
		{pattern: `a*c`, value: "aXXXc", want: true},
		{pattern: `a*c`, value: "ac", want: true},
		{pattern: `a*c`, value: "acX", want: false},
		{pattern: `a?c`, value: "abc", want: true},
		{pattern: `a?c`, value: "ac", want: false},
		{pattern: `a?c`, value: "aäc", want: true}, // ? is one character, not one byte
		{pattern: `*`, value: "anything", want: true},
		{pattern: `*.exe`, value: `C:\x\NET.EXE`, want: true},
		{pattern: `*.exe`, value: `C:\x\NET.EXE.txt`, want: false},
		{pattern: `C:\*`, value: `c:*`, want: true}, // escaped star is literal
		{pattern: `C:\*`, value: `c:\windows`, want: false},
		{pattern: `what\?`, value: `what?`, want: true},
		{pattern: `what\?`, value: `whatX`, want: false},
		{pattern: `a\\*`, value: `a\bcd`, want: true}, // \\ is one backslash, then a wildcard
		{pattern: `a\\*`, value: `a\\*`, want: true},  // wildcard matches the rest
		{pattern: `a\\*`, value: `ab`, want: false},
		{pattern: `\vssadmin.exe`, lead: true, value: `C:\Windows\System32\VSSADMIN.exe`, want: true},
		{pattern: `\vssadmin.exe`, lead: true, value: `C:\Windows\System32\notvssadmin.exe`, want: false},
		{pattern: `*a*b*c*`, value: "xxaxxbxxcxx", want: true},
		{pattern: `*a*b*c*`, value: "xxcxxbxxaxx", want: false},
		{pattern: `ab*ab`, value: "ab", want: false}, // prefix and suffix must not overlap
		{pattern: `ab*ab`, value: "abab", want: true},
		{pattern: `x?y*z`, value: "XqYzzZ", want: true},
		{pattern: `ÄBC`, value: "äbc", want: true}, // non-ASCII folding
		{pattern: `äbc`, value: "ÄBC", want: true},
		{pattern: `delete`, lead: true, trail: true, value: "vssadmin DELETE shadows", want: true},
		{pattern: ``, lead: true, trail: true, value: "x", want: true},
		{pattern: ``, trail: true, value: "x", want: true},
		{pattern: ``, value: "x", want: false},
		{pattern: ` -enc `, windash: true, lead: true, trail: true, value: "powershell /enc abc", want: true},
		{pattern: ` -enc `, windash: true, lead: true, trail: true, value: "powershell \u2013enc abc", want: true},
		{pattern: ` -enc `, windash: true, lead: true, trail: true, value: "powershell xenc abc", want: false},
		{pattern: `a-b`, windash: true, value: "a/b", want: false}, // mid-word dash is literal
		{pattern: `a-b`, windash: true, value: "a-b", want: true},
	} {
		g := parseGlob(tc.pattern, tc.cased, tc.windash, tc.lead, tc.trail)
		if got := g.match(tc.value); got != tc.want {
			t.Errorf("glob %q (cased=%v windash=%v lead=%v trail=%v) on %q = %v, want %v",
				tc.pattern, tc.cased, tc.windash, tc.lead, tc.trail, tc.value, got, tc.want)
		}
	}
}

func TestExpandPlaceholders(t *testing.T) {
	ph := map[string][]string{"a": {"1", "2"}, "b": {"x"}}
	got, err := expandPlaceholders("%a%-%b%", ph)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "1-x" || got[1] != "2-x" {
		t.Errorf("expand = %q, want [1-x 2-x]", got)
	}
	if _, err := expandPlaceholders("%missing%", ph); err == nil {
		t.Error("unresolved placeholder: no error")
	}
}
