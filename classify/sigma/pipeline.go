package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pipeline maps Sigma field names to canonical (ECS) field names for the
// rules whose logsource matches, in the manner of pySigma's processing
// pipelines: a deployment whose sensors name fields differently adds one
// instead of rewriting rules. Only field_name_mapping transformations with
// logsource rule conditions exist here.
type Pipeline struct {
	Name     string
	Mappings []FieldMapping
}

// FieldMapping renames fields of the rules it applies to.
type FieldMapping struct {
	ID string
	// When lists logsource conditions, all of which must hold for a rule;
	// empty parts match anything. No conditions: every rule.
	When   []Logsource
	Fields map[string]string // Sigma name -> ECS name
}

// applies reports whether the mapping covers a rule with logsource ls
// (lower case).
func (fm *FieldMapping) applies(ls Logsource) bool {
	for _, w := range fm.When {
		if w.Product != "" && w.Product != ls.Product ||
			w.Category != "" && w.Category != ls.Category ||
			w.Service != "" && w.Service != ls.Service {
			return false
		}
	}
	return true
}

// IsPipelineFile reports whether a file in a rule directory is a field
// mapping pipeline (*.pipeline.yml) rather than rules.
func IsPipelineFile(name string) bool {
	return strings.HasSuffix(name, ".pipeline.yml") || strings.HasSuffix(name, ".pipeline.yaml")
}

// IsTestFile reports whether a file in a rule directory holds rule tests
// (*.test.yml), which rule loading skips.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, ".test.yml") || strings.HasSuffix(name, ".test.yaml")
}

// ParsePipeline parses a pipeline file. Problems come back as *RuleError
// with positions, all of them.
func ParsePipeline(file string, data []byte) (Pipeline, error) {
	p := Pipeline{Name: file}
	var errs []error
	fail := func(err error) {
		re := &RuleError{File: file, Err: err}
		var pe *posError
		if errors.As(err, &pe) {
			re.Line, re.Column, re.Err = pe.line, pe.col, pe.err
		}
		errs = append(errs, re)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return p, &RuleError{File: file, Err: fmt.Errorf("%w: empty pipeline", ErrInvalid)}
		}
		return p, &RuleError{File: file, Err: fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return p, &RuleError{File: file, Line: root.Line, Column: root.Column, Err: fmt.Errorf("%w: pipeline must be a mapping, not %s", ErrInvalid, kindName(root))}
	}
	ps, perrs := pairs(root)
	for _, e := range perrs {
		fail(e)
	}
	for _, kv := range ps {
		switch kv.key {
		case "name":
			name, err := scalar(kv.key, kv.val)
			if err != nil {
				fail(err)
			} else if name != "" {
				p.Name = name
			}
		case "priority", "vars", "allowed_backends":
			// Ordering comes from file order; the rest concerns query backends.
		case "transformations":
			if kv.val.Kind != yaml.SequenceNode {
				fail(errAt(kv.val.Line, kv.val.Column, ErrInvalid, "transformations must be a list, not %s", kindName(kv.val)))
				continue
			}
			for _, t := range kv.val.Content {
				fm, terrs := transformation(deref(t))
				for _, e := range terrs {
					fail(e)
				}
				if len(terrs) == 0 {
					p.Mappings = append(p.Mappings, fm)
				}
			}
		default:
			fail(errAt(kv.kNode.Line, kv.kNode.Column, ErrInvalid, "unknown pipeline attribute %q", kv.key))
		}
	}
	return p, errors.Join(errs...)
}

func transformation(n *yaml.Node) (FieldMapping, []error) {
	var fm FieldMapping
	if n.Kind != yaml.MappingNode {
		return fm, []error{errAt(n.Line, n.Column, ErrInvalid, "transformation must be a mapping, not %s", kindName(n))}
	}
	ps, errs := pairs(n)
	typ := ""
	for _, kv := range ps {
		switch kv.key {
		case "id":
			fm.ID, _ = scalar(kv.key, kv.val)
		case "type":
			var err error
			if typ, err = scalar(kv.key, kv.val); err != nil {
				errs = append(errs, err)
			} else if typ != "field_name_mapping" {
				errs = append(errs, errAt(kv.val.Line, kv.val.Column, ErrUnsupported, "transformation type %q (only field_name_mapping)", typ))
			}
		case "mapping":
			m, merrs := fieldMap(kv.val)
			fm.Fields = m
			errs = append(errs, merrs...)
		case "rule_conditions":
			w, werrs := ruleConditions(kv.val)
			fm.When = w
			errs = append(errs, werrs...)
		case "rule_cond_linking", "rule_cond_expr", "rule_cond_not", "field_name_conditions", "detection_item_conditions":
			errs = append(errs, errAt(kv.kNode.Line, kv.kNode.Column, ErrUnsupported, "transformation attribute %q", kv.key))
		default:
			errs = append(errs, errAt(kv.kNode.Line, kv.kNode.Column, ErrInvalid, "unknown transformation attribute %q", kv.key))
		}
	}
	if typ == "" && len(errs) == 0 {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "transformation has no type"))
	}
	return fm, errs
}

func fieldMap(n *yaml.Node) (map[string]string, []error) {
	if n.Kind != yaml.MappingNode {
		return nil, []error{errAt(n.Line, n.Column, ErrInvalid, "mapping must be a mapping, not %s", kindName(n))}
	}
	ps, errs := pairs(n)
	out := make(map[string]string, len(ps))
	for _, kv := range ps {
		if kv.val.Kind == yaml.SequenceNode {
			errs = append(errs, errAt(kv.val.Line, kv.val.Column, ErrUnsupported, "mapping %q to several fields", kv.key))
			continue
		}
		target, err := scalar(kv.key, kv.val)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := ecsFields[target]; !ok && !strings.HasPrefix(target, "labels.") {
			errs = append(errs, errAt(kv.val.Line, kv.val.Column, ErrInvalid, "%q is not a canonical event field", target))
			continue
		}
		out[kv.key] = target
	}
	return out, errs
}

func ruleConditions(n *yaml.Node) ([]Logsource, []error) {
	if n.Kind != yaml.SequenceNode {
		return nil, []error{errAt(n.Line, n.Column, ErrInvalid, "rule_conditions must be a list, not %s", kindName(n))}
	}
	var out []Logsource
	var errs []error
	for _, c := range n.Content {
		c = deref(c)
		if c.Kind != yaml.MappingNode {
			errs = append(errs, errAt(c.Line, c.Column, ErrInvalid, "rule condition must be a mapping, not %s", kindName(c)))
			continue
		}
		ps, perrs := pairs(c)
		errs = append(errs, perrs...)
		var ls Logsource
		for _, kv := range ps {
			v, err := scalar(kv.key, kv.val)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch kv.key {
			case "type":
				if v != "logsource" {
					errs = append(errs, errAt(kv.val.Line, kv.val.Column, ErrUnsupported, "rule condition type %q (only logsource)", v))
				}
			case "product":
				ls.Product = strings.ToLower(v)
			case "category":
				ls.Category = strings.ToLower(v)
			case "service":
				ls.Service = strings.ToLower(v)
			default:
				errs = append(errs, errAt(kv.kNode.Line, kv.kNode.Column, ErrInvalid, "unknown rule condition attribute %q", kv.key))
			}
		}
		out = append(out, ls)
	}
	return out, errs
}

// resolve maps a detection field for a rule with logsource ls: the first
// pipeline mapping that applies and names the field wins; else the
// built-in mapping (resolveField). A mapped field is still read from the
// event's own field of the rule's name first.
func (c *compiler) resolve(name string, ls Logsource) fieldRef {
	for pi := range c.pipelines {
		for mi := range c.pipelines[pi].Mappings {
			m := &c.pipelines[pi].Mappings[mi]
			target, ok := m.Fields[name]
			if !ok || !m.applies(ls) {
				continue
			}
			if k, ok := strings.CutPrefix(target, "labels."); ok {
				return fieldRef{name: name, native: name, ecs: k, id: fLabel}
			}
			return fieldRef{name: name, native: name, ecs: target, id: ecsFields[target]}
		}
	}
	return resolveField(name)
}
