// Package objstore is the object store: immutable named blobs (binlogs,
// delta logs, stats, index files). Standalone keeps them in a local
// directory (Local); cluster mode uses an S3-compatible server. Memory is an
// in-memory implementation for tests; package objstoretest holds the
// conformance suite that every implementation passes, and a
// fault-injecting wrapper.
//
// Objects are written once and never modified; a Put of an existing key
// replaces it atomically (readers see the old or the new object, never a
// mix). Put returns once the object is durable.
//
// Keys are slash-separated paths ("insert_log/1/2/3/100/7"), checked by
// ValidateKey: no empty, "." or ".." segment, no leading "/". Listing is by
// key-string prefix, not by directory: "seg/1" matches "seg/1/a" and
// "seg/10/a". Results are sorted by key.
//
// Map is how sealed segments are loaded without copying: Local maps the
// file read-only, so the kernel pages it in on demand and can drop it under
// memory pressure; a mapping outlives the deletion or replacement of its
// key until the mapping is closed.
package objstore
