// Package jsontree parses one JSON record into a flat, reusable tree for the
// JSON decoders of stream/decode.
//
// The tree holds byte spans into the record rather than Go values: parsing
// allocates nothing once a Tree's slices have grown, and a decoder copies
// out (Text, Key) only the values it maps. Limits on depth and on the number
// of values are enforced while scanning, so hostile input is refused before
// it costs memory. Errors are *decerr.Error values naming the format, with
// the byte offset of the problem.
//
// A Tree is not safe for concurrent use; decoders keep them in a sync.Pool.
// Its spans refer to the record, so a decoder must call Reset (or Parse the
// next record) before giving the record's buffer back.
package jsontree
