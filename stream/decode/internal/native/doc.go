// Package native collects a JSON record's scalars as source-native event
// fields (event.Event.Fields) under their dotted names, for the decoders
// that keep a sensor's whole record beside its canonical mapping (ocsf,
// falco). It bounds the number of names (MaxFields) and costs two
// allocations per record, not two per field.
package native
