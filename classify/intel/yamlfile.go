package intel

import "github.com/casus-sec/casus/classify/internal/yamlpos"

// Error is one problem in a threat-intelligence file, with its position.
type Error = yamlpos.Error

// parser carries the package's own checks on top of the shared strict,
// positioned YAML walker.
type parser struct{ *yamlpos.Parser }
