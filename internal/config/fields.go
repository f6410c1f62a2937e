package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// field is one variable: its full name, its tags and the struct field it fills.
type field struct {
	name  string
	tag   reflect.StructTag
	value reflect.Value
}

// fields lists the variables of c in declaration order. It names them as
// envconfig does for this struct: embedded structs add no prefix, and the
// `envconfig` tag (or the upper-cased field name) follows CASUS_.
func fields(c *Config) []field {
	return walk(reflect.ValueOf(c).Elem(), nil)
}

func walk(v reflect.Value, out []field) []field {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			out = walk(v.Field(i), out)
			continue
		}
		key := sf.Tag.Get("envconfig")
		if key == "" {
			key = sf.Name
		}
		out = append(out, field{
			name:  Prefix + "_" + strings.ToUpper(key),
			tag:   sf.Tag,
			value: v.Field(i),
		})
	}
	return out
}

func (f field) secret() bool {
	b, _ := strconv.ParseBool(f.tag.Get("secret"))
	return b
}

// set parses raw into the field. The field changes only if all of raw parses,
// so a bad value leaves the default in place.
func (f field) set(raw string) error {
	v := reflect.New(f.value.Type()).Elem()
	if err := parse(v, raw); err != nil {
		return err
	}
	f.value.Set(v)
	return nil
}

// error describes a value that does not parse, without repeating a secret.
func (f field) error(raw string, err error) *Error {
	if f.secret() {
		raw = mask(raw)
	}
	return &Error{Var: f.name, Value: raw, Allowed: allowedSyntax(f.value.Type()), Err: err}
}

var durationType = reflect.TypeFor[time.Duration]()

// parse reads raw into the settable v, following envconfig's conversions:
// a Decoder first, then by kind.
func parse(v reflect.Value, raw string) error {
	if d, ok := v.Addr().Interface().(envconfig.Decoder); ok {
		return d.Decode(raw)
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not a duration: %w", err)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not a boolean: %w", numErr(err))
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("not an integer: %w", numErr(err))
		}
		v.SetInt(n)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 0, 0)
		if strings.TrimSpace(raw) != "" {
			for i, item := range strings.Split(raw, ",") {
				item = strings.TrimSpace(item)
				if item == "" {
					return fmt.Errorf("item %d is empty", i+1)
				}
				e := reflect.New(v.Type().Elem()).Elem()
				if err := parse(e, item); err != nil {
					return fmt.Errorf("item %d: %w", i+1, err)
				}
				s = reflect.Append(s, e)
			}
		}
		v.Set(s)
	default:
		// Only reachable by adding a field of a new kind; TestDefaults covers every field.
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

// numErr drops strconv's "strconv.ParseInt: parsing ..." prefix, which would
// repeat the value the message already shows.
func numErr(err error) error {
	if ne, ok := errors.AsType[*strconv.NumError](err); ok {
		return ne.Err
	}
	return err
}

// allowedSyntax says in words what a variable of type t accepts.
func allowedSyntax(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 200ms, 30s or 1m30s"
	case t == reflect.TypeFor[[]Input]():
		return "comma-separated topic:format pairs"
	case t.Kind() == reflect.Bool:
		return "true, false, 1 or 0"
	case t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Slice:
		if e, ok := reflect.Zero(t.Elem()).Interface().(enum); ok {
			return "a comma-separated list of " + orList(e.allowed())
		}
		return "a comma-separated list"
	}
	if e, ok := reflect.Zero(t).Interface().(enum); ok {
		return oneOf(e.allowed())
	}
	return "a string"
}

// typeName is the short type shown by Vars.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == reflect.TypeFor[[]Input]():
		return "list of topic:format"
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	}
	if e, ok := reflect.Zero(t).Interface().(enum); ok {
		vals := make([]string, len(e.allowed()))
		for i, a := range e.allowed() {
			vals[i] = displayValue(a)
		}
		return strings.Join(vals, "|")
	}
	return t.Kind().String()
}

// format renders a field value the way FromEnv reads it back.
func format(v reflect.Value) string {
	if v.Kind() == reflect.Slice {
		items := make([]string, v.Len())
		for i := range items {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(items, ",")
	}
	return fmt.Sprint(v.Interface())
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "****"
}

// oneOf is "one of a, b or c", with the empty value shown as "".
func oneOf(vals []string) string { return "one of " + orList(vals) }

func orList(vals []string) string {
	shown := make([]string, len(vals))
	for i, v := range vals {
		shown[i] = displayValue(v)
	}
	if len(shown) == 1 {
		return shown[0]
	}
	return strings.Join(shown[:len(shown)-1], ", ") + " or " + shown[len(shown)-1]
}
