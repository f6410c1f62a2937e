// Package yamlpos decodes hand-walked YAML files strictly, reporting every
// problem with its file, line and column in one pass.
//
// It is shared by the classify packages that read operator-written YAML (the
// asset inventory, the threat-intelligence file and the severity policy):
// a Parser wraps a yaml.v3 node tree with typed accessors that record a
// positioned Error instead of stopping at the first bad value. LoadFile and
// Parser.List carry the read-a-file and walk-a-top-level-list skeleton those
// files share; each package keeps its own checks of an entry.
//
// It imports only gopkg.in/yaml.v3 and the standard library.
package yamlpos
