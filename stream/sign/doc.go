// Package sign signs and verifies the records casus publishes on the
// escalations topic, with Ed25519 (RFC 8032) from the standard library.
//
// A Signer signs the exact bytes of a record's value; the record carries
// the signature in the HeaderSignature header (standard base64 of the 64
// bytes) and the signing key's id in HeaderKeyID. A Verifier holds one or
// more public keys by id and picks the one a record names, which is how keys
// rotate: verifiers learn the new public key before the signer switches to
// it, and keep the old one until the records it signed have aged out.
//
// The signature covers the value only: not the record key, the other
// headers, the topic, the partition or the offset. A signed value copied to
// another topic or offset still verifies; the escalation id and event time
// inside the value are what tie it to one escalation.
//
// Keys are PEM files: a private key is a "PRIVATE KEY" block (PKCS #8, what
// openssl genpkey -algorithm ed25519 writes), a public key a "PUBLIC KEY"
// block (PKIX). A key id is given, or derived from the public key (KeyID).
//
// Records to verify are read as NDJSON by Reader: the envelope kcat -J
// prints, or casus's own (MarshalRecord), one record a line.
//
// The package imports nothing of casus. Metrics: casus_signing_key_info{key_id}.
package sign
