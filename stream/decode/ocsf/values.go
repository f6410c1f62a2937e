package ocsf

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Epoch-millisecond bounds of years 0000 to 9999, the years a time.Time
// can render as RFC 3339.
const (
	minMillis = -62167219200000 // 0000-01-01T00:00:00Z
	maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
)

// isTechnique reports whether s is an ATT&CK technique or sub-technique id:
// T and four digits, optionally a dot and three digits, either case.
func isTechnique(s string) bool {
	if (len(s) != 5 && len(s) != 9) || (s[0] != 'T' && s[0] != 't') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if i == 5 {
			if s[i] != '.' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func wrongType(t *jsontree.Tree, i int32, field, want string) error {
	return decerr.New(Format, decerr.WrongType, field, fmt.Errorf("want %s, got %s", want, t.Describe(i)))
}

// str returns scalar i as text ("" for null or absent); an object or array
// is wrong_type naming field. Numbers and booleans keep their JSON text,
// as sensors write either.
func str(t *jsontree.Tree, i int32, field string) (string, error) {
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return "", nil
	case jsontree.Object, jsontree.Array:
		return "", wrongType(t, i, field, "string")
	}
	s, _ := t.Text(i)
	return s, nil
}

// integer returns value i as an integer in [lo, hi]; ok is false when it is
// null or absent.
func integer(t *jsontree.Tree, i int32, field string, lo, hi int64) (int64, bool, error) {
	n, ok, err := t.Int(i)
	if err != nil {
		return 0, false, decerr.New(Format, decerr.WrongType, field, err)
	}
	if ok && (n < lo || n > hi) {
		return 0, false, wrongType(t, i, field, fmt.Sprintf("integer in [%d, %d]", lo, hi))
	}
	return n, ok, nil
}

// ipAddr returns the canonical text of the IP address at i; "" for null,
// absent or an empty string. Anything else that is not an address is
// wrong_type: a rule keyed on addresses must not see a wrong one.
func ipAddr(t *jsontree.Tree, i int32, field string) (string, error) {
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return "", nil
	case jsontree.String:
	default:
		return "", wrongType(t, i, field, "IP address")
	}
	b, _ := t.TextBytes(i)
	if len(b) == 0 {
		return "", nil
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return "", wrongType(t, i, field, "IP address")
	}
	return a.Unmap().String(), nil
}

// port returns a TCP/UDP port, 0 when absent.
func port(t *jsontree.Tree, i int32, field string) (int, error) {
	n, _, err := integer(t, i, field, 0, 65535)
	return int(n), err
}

// count returns a non-negative counter and whether it is present.
func count(t *jsontree.Tree, i int32, field string) (int64, bool, error) {
	return integer(t, i, field, 0, math.MaxInt64)
}

// epochMillis reads OCSF's timestamp_t: milliseconds since the epoch as a
// number (fractions allowed) or a decimal string. An RFC 3339 string is
// accepted too, as some producers write one here.
func epochMillis(t *jsontree.Tree, i int32, field string) (time.Time, bool, error) {
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return time.Time{}, false, nil
	case jsontree.String:
		b, _ := t.TextBytes(i)
		if len(b) == 0 {
			return time.Time{}, false, nil
		}
		if strings.ContainsAny(string(b), "T:") {
			return rfc3339(t, i, field)
		}
	case jsontree.Number:
	default:
		return time.Time{}, false, wrongType(t, i, field, "epoch milliseconds or RFC 3339 time")
	}
	lo, hi := int64(minMillis), int64(maxMillis)
	if n, ok, err := t.Int(i); err == nil && ok {
		if n < lo || n > hi {
			return time.Time{}, false, wrongType(t, i, field, "epoch milliseconds in years 0000-9999")
		}
		return time.UnixMilli(n).UTC(), true, nil
	}
	f, ok, err := t.Float(i)
	switch {
	case err != nil || !ok:
		return time.Time{}, false, wrongType(t, i, field, "epoch milliseconds or RFC 3339 time")
	case f < float64(lo) || f > float64(hi):
		return time.Time{}, false, wrongType(t, i, field, "epoch milliseconds in years 0000-9999")
	}
	ms := math.Floor(f)
	ns := math.Round((f - ms) * 1e6)
	return time.UnixMilli(int64(ms)).Add(time.Duration(ns)).UTC(), true, nil
}

// rfc3339 reads OCSF's datetime_t, an RFC 3339 string.
func rfc3339(t *jsontree.Tree, i int32, field string) (time.Time, bool, error) {
	switch t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return time.Time{}, false, nil
	case jsontree.String:
	default:
		return time.Time{}, false, wrongType(t, i, field, "RFC 3339 time")
	}
	b, _ := t.TextBytes(i)
	if len(b) == 0 {
		return time.Time{}, false, nil
	}
	p, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false, wrongType(t, i, field, "RFC 3339 time")
	}
	p = p.UTC()
	if p.Unix() < minMillis/1000 || p.Unix() > maxMillis/1000 {
		return time.Time{}, false, decerr.New(Format, decerr.WrongType, field,
			errors.New("want RFC 3339 time in years 0000-9999 (UTC)"))
	}
	return p, true, nil
}

// extension returns the file extension without the dot, as ECS
// file.extension wants it: "" when the base name has no dot, starts with
// its only dot (.bashrc) or ends in one.
func extension(p string) string {
	base := p[strings.LastIndexAny(p, `/\`)+1:]
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || dot == len(base)-1 {
		return ""
	}
	return base[dot+1:]
}

// joinPath joins a folder and a file name with the folder's separator.
func joinPath(dir, name string) string {
	switch {
	case dir == "":
		return name
	case name == "":
		return ""
	case strings.HasSuffix(dir, "/") || strings.HasSuffix(dir, `\`):
		return dir + name
	case strings.Contains(dir, `\`):
		return dir + `\` + name
	}
	return dir + "/" + name
}
