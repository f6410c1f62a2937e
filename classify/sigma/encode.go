package sigma

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// encodeValue applies the value transformations of a field's modifiers
// (wide, utf16le, utf16be, utf16, base64, base64offset) in the order
// written, as Sigma defines them: base64offset yields the three encodings
// of the value at each byte offset, trimmed of the characters that depend
// on its neighbours, so `contains` finds it inside a longer encoded text.
// The result is literal text; a value with wildcards cannot be encoded.
func encodeValue(v string, enc []string) ([]string, error) {
	if hasWildcard(v) {
		return nil, errf(ErrUnsupported, "modifier %q on a value with wildcards", enc[0])
	}
	v = unescapeGlob(v)
	vals := []string{v}
	for _, e := range enc {
		var next []string
		for _, s := range vals {
			switch e {
			case "wide", "utf16le":
				next = append(next, utf16Bytes(s, false, false))
			case "utf16be":
				next = append(next, utf16Bytes(s, true, false))
			case "utf16":
				next = append(next, utf16Bytes(s, false, true))
			case "base64":
				next = append(next, base64.StdEncoding.EncodeToString([]byte(s)))
			case "base64offset":
				next = append(next, base64Offsets(s)...)
			}
		}
		vals = next
	}
	for i, s := range vals {
		vals[i] = escapeGlob(s)
	}
	return vals, nil
}

// utf16Bytes encodes s as UTF-16 code units, little or big endian, with a
// byte-order mark (FF FE, little endian) when bom is set.
func utf16Bytes(s string, bigEndian, bom bool) string {
	var b strings.Builder
	if bom {
		b.WriteString("\xff\xfe")
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b.WriteByte(byte(u >> 8))
			b.WriteByte(byte(u))
		} else {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	}
	return b.String()
}

// base64Offsets returns the base64 of s placed at offsets 0, 1 and 2 of a
// 3-byte group, without the leading and trailing characters that also
// encode the unknown bytes around s.
func base64Offsets(s string) []string {
	starts := [3]int{0, 2, 3}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		end := len(enc)
		switch (len(s) + i) % 3 {
		case 1:
			end -= 3
		case 2:
			end -= 2
		}
		if starts[i] >= end {
			continue
		}
		out = append(out, enc[starts[i]:end])
	}
	return out
}

// unescapeGlob turns Sigma's escapes (\*, \?, \\) into the characters.
func unescapeGlob(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '*' || v[i+1] == '?' || v[i+1] == '\\') {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// escapeGlob makes literal text safe to compile as a Sigma value.
func escapeGlob(v string) string {
	if !strings.ContainsAny(v, `*?\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '*' || c == '?' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// hasWildcard reports whether v has an unescaped * or ?.
func hasWildcard(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if i+1 < len(v) && (v[i+1] == '*' || v[i+1] == '?' || v[i+1] == '\\') {
				i++
			}
		case '*', '?':
			return true
		}
	}
	return false
}
