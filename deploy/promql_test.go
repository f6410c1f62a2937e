package deploy

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/casus-sec/casus/internal/app"
)

// selector is one metric a PromQL expression reads, with the label names
// its matchers mention.
type selector struct {
	Metric string
	Labels []string
}

// promqlKeywords are identifiers that never name a metric. Aggregations are
// listed because they may be followed by `by (...)` rather than `(`.
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// labelListKeywords take a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// selectors returns the metrics an expression reads. It is a lexer, not a
// parser: enough to find metric names and matcher labels in the expressions
// casus ships, with Grafana's $variables taken as opaque values.
func selectors(expr string) ([]selector, error) {
	var out []selector
	s := []rune(expr)
	i := 0
	skipSpace := func() {
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
	}
	skipTo := func(closing rune) error {
		for i < len(s) && s[i] != closing {
			if s[i] == '"' || s[i] == '\'' || s[i] == '`' {
				if err := skipString(s, &i); err != nil {
					return err
				}
				continue
			}
			i++
		}
		if i == len(s) {
			return fmt.Errorf("unclosed %q in %q", closing, expr)
		}
		i++
		return nil
	}
	for i < len(s) {
		c := s[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(s, &i); err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
		case c == '$': // Grafana variable: $name or ${name}
			i++
			if i < len(s) && s[i] == '{' {
				if err := skipTo('}'); err != nil {
					return nil, err
				}
				continue
			}
			for i < len(s) && isIdent(s[i]) {
				i++
			}
		case c == '[':
			if err := skipTo(']'); err != nil {
				return nil, err
			}
		case c == '{': // matchers without a metric name
			start := i
			if err := skipTo('}'); err != nil {
				return nil, err
			}
			if name := matcherName(string(s[start+1 : i-1])); name != "" {
				out = append(out, selector{Metric: name})
			}
		case unicode.IsDigit(c) || (c == '.' && i+1 < len(s) && unicode.IsDigit(s[i+1])):
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' || ((s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E'))) {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdent(s[i]) {
				i++
			}
			word := string(s[start:i])
			skipSpace()
			if labelListKeywords[word] {
				if i < len(s) && s[i] == '(' {
					i++
					if err := skipTo(')'); err != nil {
						return nil, err
					}
				}
				continue
			}
			if promqlKeywords[strings.ToLower(word)] || (i < len(s) && s[i] == '(') {
				continue
			}
			sel := selector{Metric: word}
			if i < len(s) && s[i] == '{' {
				start := i
				if err := skipTo('}'); err != nil {
					return nil, err
				}
				sel.Labels = matcherLabels(string(s[start+1 : i-1]))
			}
			out = append(out, sel)
		default:
			i++
		}
	}
	return out, nil
}

func skipString(s []rune, i *int) error {
	q := s[*i]
	*i++
	for *i < len(s) {
		switch {
		case s[*i] == '\\' && q != '`':
			*i += 2
		case s[*i] == q:
			*i++
			return nil
		default:
			*i++
		}
	}
	return fmt.Errorf("unclosed string")
}

func isIdentStart(c rune) bool { return c == '_' || c == ':' || unicode.IsLetter(c) }
func isIdent(c rune) bool      { return isIdentStart(c) || unicode.IsDigit(c) }

// matcherLabels returns the label names of a matcher list such as
// `topic="x", reason=~"a|b"`.
func matcherLabels(list string) []string {
	var names []string
	s := []rune(list)
	for i := 0; i < len(s); {
		for i < len(s) && (unicode.IsSpace(s[i]) || s[i] == ',') {
			i++
		}
		start := i
		for i < len(s) && isIdent(s[i]) {
			i++
		}
		if i > start {
			names = append(names, string(s[start:i]))
		}
		for i < len(s) && s[i] != '"' && s[i] != '\'' && s[i] != '`' {
			i++
		}
		if i < len(s) {
			if skipString(s, &i) != nil {
				break
			}
		}
	}
	return names
}

// matcherName is the metric a `{__name__="..."}` selector names.
func matcherName(list string) string {
	for _, part := range strings.Split(list, ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(k) == "__name__" {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// exported returns the metrics a casus process exports, by name.
func exported(t *testing.T) map[string]app.Metric {
	t.Helper()
	ms, err := app.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]app.Metric{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	return byName
}

// checkSelector says what is wrong with one selector, or "" when the metric
// exists, is read by its series' real names and its matchers use its labels.
// Names with a colon are recording rules, looked up in recorded.
func checkSelector(sel selector, metrics map[string]app.Metric, recorded map[string]bool) string {
	if strings.Contains(sel.Metric, ":") {
		if !recorded[sel.Metric] {
			return fmt.Sprintf("recording rule %s is not defined in the rules", sel.Metric)
		}
		return ""
	}
	m, ok := metrics[sel.Metric]
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if ok {
			break
		}
		base, found := strings.CutSuffix(sel.Metric, suffix)
		b, known := metrics[base]
		if !found || !known || !(b.Type == "histogram" || (b.Type == "summary" && suffix != "_bucket")) {
			continue
		}
		m, ok = b, true
		if suffix == "_bucket" {
			m.Labels = append(append([]string(nil), b.Labels...), "le")
		}
	}
	if !ok {
		return fmt.Sprintf("metric %s is not exported by casus", sel.Metric)
	}
	for _, l := range sel.Labels {
		if l == "__name__" || l == "job" || l == "instance" || containsString(m.Labels, l) {
			continue
		}
		return fmt.Sprintf("metric %s has no label %q (labels: %v)", sel.Metric, l, m.Labels)
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSelectors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`sum by (topic) (rate(casus_records_consumed_total{job="casus"}[5m]))`, `casus_records_consumed_total[job]`},
		{`histogram_quantile(0.99, sum by (le, output) (rate(casus_record_to_output_seconds_bucket[$__rate_interval])))`, `casus_record_to_output_seconds_bucket[]`},
		{`max without (partition) (casus_consumer_lag{topic=~"$topic", instance=~"${instance}"}) > 1e3`, `casus_consumer_lag[topic instance]`},
		{`casus:lag:sum > 100 and on (job) up{job="casus"} == 1`, `casus:lag:sum[] up[job]`},
		{`increase(casus_escalations_total{candidacy="armed-attack-candidate", level=~"4|5"}[15m]) > 0`, `casus_escalations_total[candidacy level]`},
		{`{__name__="casus_build_info"}`, `casus_build_info[]`},
		{`count(count by (version) (casus_build_info)) > 1`, `casus_build_info[]`},
		{`absent(up{job="casus"} offset 5m)`, `up[job]`},
		{`label_replace(casus_signals_total, "x", "$1", "class", "(.*)")`, `casus_signals_total[]`},
	}
	for _, tt := range tests {
		sels, err := selectors(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		var got []string
		for _, s := range sels {
			got = append(got, fmt.Sprintf("%s%v", s.Metric, s.Labels))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("selectors(%s) = %q, want %q", tt.expr, strings.Join(got, " "), tt.want)
		}
	}
	if _, err := selectors(`rate(x{a="b}[5m])`); err == nil {
		t.Error("an unclosed string was not reported")
	}
}

func TestCheckSelector(t *testing.T) {
	metrics := exported(t)
	recorded := map[string]bool{"casus:x:rate5m": true}
	tests := []struct {
		sel  selector
		fail bool
	}{
		{selector{Metric: "casus_escalations_total", Labels: []string{"level", "candidacy"}}, false},
		{selector{Metric: "casus_escalations_total", Labels: []string{"severity"}}, true},
		{selector{Metric: "casus_record_to_output_seconds_bucket", Labels: []string{"le", "output"}}, false},
		{selector{Metric: "casus_records_consumed_total_bucket"}, true},
		{selector{Metric: "casus_escalation_total"}, true},
		{selector{Metric: "casus:x:rate5m"}, false},
		{selector{Metric: "casus:y:rate5m"}, true},
		{selector{Metric: "process_resident_memory_bytes"}, false},
		{selector{Metric: "go_gc_duration_seconds_count"}, false},
	}
	for _, tt := range tests {
		if msg := checkSelector(tt.sel, metrics, recorded); (msg != "") != tt.fail {
			t.Errorf("checkSelector(%v) = %q, want failure %v", tt.sel, msg, tt.fail)
		}
	}
}
