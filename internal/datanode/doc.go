// Package datanode turns the log into files: it consumes the DML channels,
// buffers each growing segment's rows and each channel's deletes in memory,
// and when it reads a segment's Seal message it writes the segment's insert
// binlogs (one per field) and stats log, plus the channel's buffered deletes
// as an L0 delta log, to the object store. Then it reports the segment as
// flushed and moves the channel's checkpoint to the start of the oldest
// segment still buffered.
//
// A segment's buffer that passes dataNode.segment.insertBufSize (or the
// memory watermark) is synced before the seal: written as a piece, one
// binlog per field, and freed; the seal merges the pieces (sync.go,
// docs/insert-buffer.md).
//
// Replaying a channel from its checkpoint after a crash rebuilds exactly
// the buffers that were lost: inserts of segments already flushed are
// skipped, deletes are flushed again (applying a delete twice is harmless).
//
// One goroutine per physical channel (a pipeline) owns that channel's
// buffers; Server.mu guards only the pipeline map.
package datanode
