// Package decerr holds the decode error type shared by package decode and the
// per-format decoder packages below it. It exists only to break the import
// cycle between decode (whose Default registry imports the formats) and the
// formats (which return decode errors); callers use the aliases in package
// decode.
package decerr
