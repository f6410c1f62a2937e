package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/casus-sec/casus/internal/app"
)

const rulesUsage = `usage: casus rules lint [--placeholders FILE] PATH...
       casus rules test [--format F] [--rules DIR]... [--placeholders FILE] PATH...

lint  compile every rule file (*.yml, *.yaml; not *.test.yml) under the paths and
      report every error and warning with its position, then a summary.
      Exit 1 if a rule is rejected.
test  run the rule tests under the paths: *.test.yml files, and SigmaHQ
      regression cases (regression_data/**/info.yml). Exit 1 if a case fails.
`

// cmdRules runs `casus rules lint|test`.
func cmdRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return exitUsage
	}
	switch args[0] {
	case "lint":
		return cmdRulesLint(args[1:], stdout, stderr)
	case "test":
		return cmdRulesTest(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, rulesUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "casus rules: unknown command %q\n%s", args[0], rulesUsage)
	return exitUsage
}

// pathList is a repeatable string flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(s string) error { *p = append(*p, s); return nil }

func cmdRulesLint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	phFile := fs.String("placeholders", "", "YAML file mapping placeholder names to lists of values (default: the built-in defaults)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casus rules lint [--placeholders FILE] PATH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	opt := app.LintOptions{Paths: fs.Args(), Out: stdout}
	if *phFile != "" {
		ph, err := app.LoadPlaceholders(*phFile)
		if err != nil {
			fmt.Fprintf(stderr, "casus rules lint: %v\n", err)
			return exitUsage
		}
		opt.Placeholders = ph
	}
	rep, err := app.LintRules(opt)
	if err != nil {
		fmt.Fprintf(stderr, "casus rules lint: %v\n", err)
		return exitUsage
	}
	if rep.Errors > 0 {
		return exitFailure
	}
	return exitOK
}

func cmdRulesTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "event format for cases that name none (default: ecs; winevt for regression data)")
	phFile := fs.String("placeholders", "", "YAML file mapping placeholder names to lists of values (default: the built-in defaults)")
	var ruleDirs pathList
	fs.Var(&ruleDirs, "rules", "rule folder or file to load instead of the default rule set (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: casus rules test [--format F] [--rules DIR]... [--placeholders FILE] PATH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	opt := app.RuleTestOptions{Paths: fs.Args(), Format: *format, Rules: ruleDirs, Out: stdout}
	if *phFile != "" {
		ph, err := app.LoadPlaceholders(*phFile)
		if err != nil {
			fmt.Fprintf(stderr, "casus rules test: %v\n", err)
			return exitUsage
		}
		opt.Placeholders = ph
	}
	rep, err := app.RunRuleTests(opt)
	if err != nil {
		fmt.Fprintf(stderr, "casus rules test: %v\n", err)
		return exitUsage
	}
	if rep.Failed > 0 {
		return exitFailure
	}
	return exitOK
}
