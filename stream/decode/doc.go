// Package decode turns a telemetry record's bytes into the canonical
// event.Event (DESIGN §1, Decode stage). It defines the Decoder contract, the
// decode Error with its bounded Reason, and the Registry that selects a
// decoder: by the format a topic is configured with, else by the format a
// content-type header names (Select), else by the record's shape (Auto:
// the record is parsed once and each format's Sniff is asked in turn). Each
// wire format lives in its own sub-package (stream/decode/ecs, winevt,
// zeek, suricata, ocsf, falco) with its field mapping in a README.md; they
// share one JSON scanner, internal/jsontree.
//
// # Decoder contract
//
// A Decoder is given the record value and a caller-owned *event.Event:
//
//   - It resets every field of the event first, so a caller can reuse one
//     Event across records and never sees values left over from an earlier
//     record, not even after a failure.
//   - On bad input it returns an *Error (decode.Error) whose Reason is one of
//     the Reason constants and whose Field names the offending dotted field
//     when one is to blame. It never panics, whatever the bytes.
//   - It keeps no reference into data after returning: every string in the
//     event is a copy, so the caller may reuse the record buffer.
//   - It must be safe for concurrent use; one decoder serves every partition.
//   - A missing timestamp is not an error: Timestamp stays zero and the caller
//     falls back to the Kafka record timestamp.
//
// A failed record is never silently dropped: the caller sends it to the
// dead-letter topic with ReasonOf(err) as its reason header and counts it by
// topic and reason.
//
// Format packages build their errors with the internal decerr package;
// Error and Reason here are aliases of those types, so the Registry can
// import the format packages without an import cycle.
//
// The package imports no Kafka and holds no global state; the composition
// root builds the Registry (Default) and passes it on. It exports no metrics.
package decode
