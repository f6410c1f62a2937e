package config

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Var describes one variable for documentation and `casus config`.
type Var struct {
	Name        string // e.g. CASUS_BATCH_SIZE
	Type        string // e.g. int, duration, list of string, debug|info|warn|error
	Default     string // as FromEnv reads it; empty when there is none
	Description string
	Secret      bool // the value is masked when printed
}

// Vars lists every variable in declaration order, from the struct tags.
func Vars() []Var {
	var c Config
	fs := fields(&c)
	vars := make([]Var, len(fs))
	for i, f := range fs {
		vars[i] = Var{
			Name:        f.name,
			Type:        typeName(f.value.Type()),
			Default:     f.tag.Get("default"),
			Description: f.tag.Get("desc"),
			Secret:      f.secret(),
		}
	}
	return vars
}

// Print writes c as an aligned table: each variable, its value in c (a set
// secret shows as "****"), its default and its description.
func Print(w io.Writer, c Config) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tVALUE\tDEFAULT\tDESCRIPTION")
	for _, f := range fields(&c) {
		value := format(f.value)
		if f.secret() {
			value = mask(value)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.name, displayValue(value), displayValue(f.tag.Get("default")), f.tag.Get("desc"))
	}
	return tw.Flush()
}
