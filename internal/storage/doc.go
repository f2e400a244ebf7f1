// Package storage defines the on-disk formats of a sealed segment's files in
// the object store and the paths they live under:
//
//   - insert binlogs: one column of one field per flush
//     (insert_log/{collection}/{partition}/{segment}/{field}/{logID}),
//     EncodeColumn (or AppendColumn into a reused buffer) and DecodeColumn;
//     the system fields row ID (0) and timestamp (1) are Int64 columns, and
//     Timestamps views the latter as []uint64;
//   - delta logs: deleted (primary key, timestamp) pairs
//     (delta_log/{collection}/{partition}/{segment}/{logID}),
//     EncodeDeltas and DecodeDeltas;
//   - stats logs: row count, primary-key bloom filters and min/max, and
//     per-field min/max for segment pruning
//     (stats_log/{collection}/{partition}/{segment}/{field}/{logID}),
//     BuildStats, EncodeStats, DecodeStats and MergeStats.
//
// The byte layouts are specified in docs/format/binlog.md, deltalog.md and
// statslog.md. Every file is a 64-byte header (magic, version, types, counts,
// payload length, a CRC32C of the payload and a CRC32C of the header)
// followed by the payload. Decoders verify both checksums and every length
// and offset before touching the payload; malformed input returns an error
// wrapping ErrCorrupt and never panics.
//
// # Zero copy
//
// Sealed segments are loaded by memory-mapping their binlogs. Fixed-width
// values (bool, integers, floats and every fixed-width vector type) are
// stored raw, little-endian, each section starting on an 8-byte boundary of
// the file, so DecodeColumn returns slices that alias the input bytes
// through unsafe.Slice: no copy and no allocation proportional to the rows.
// The caller must keep the input (the objstore.Mapping) alive and unmodified
// for as long as the column, and any slice taken from it, is in use. JSON,
// Geometry and sparse-vector rows are []byte sub-slices of the input too.
//
// Strings are the exception: DecodeColumn copies a string column's bytes
// once into a single Go string and slices every row out of it. Go code
// treats strings as values that may be kept anywhere (map keys, results,
// error messages), and a string pointing into an unmapped file would fault
// long after the segment was released. The copy costs one allocation per
// column. Array rows are decoded into fresh *schemapb.ScalarField messages.
//
// Zero copy needs a little-endian host and an 8-byte-aligned input (mmap is
// page-aligned; Go heap buffers of 8 bytes or more are 8-aligned). A
// misaligned input is decoded by copying instead; a big-endian host is
// refused with an error.
package storage
