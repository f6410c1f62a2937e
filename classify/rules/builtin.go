package rules

import (
	"embed"
	"io/fs"
)

//go:embed *.yml
var files embed.FS

// FS returns the built-in rule files.
func FS() fs.FS { return files }

// DefaultPlaceholders returns the placeholder values the built-in rules need
// when a deployment does not configure them. engineering_hosts defaults to
// the unroutable 255.255.255.255/32, i.e. no host may write Modbus: every
// write is reported until the engineering workstations are listed.
func DefaultPlaceholders() map[string][]string {
	return map[string][]string{
		"engineering_hosts": {"255.255.255.255/32"},
	}
}
