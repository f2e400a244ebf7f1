// Package datacoord is the data coordinator. It owns segment meta (which
// segments exist, their state, rows and files), decides when a growing
// segment is sealed (size, idle time, explicit Flush), keeps each virtual
// channel's checkpoint (the log position below which everything is in the
// object store) and the channel's flushed delete logs ("L0" delta logs).
//
// Segment allocation happens inside the channel writer's append path (see
// package streaming): the writer asks AssignSegment under its channel
// lock, so a segment's rows are exactly the inserts logged between its
// first insert and its Seal message. That makes flushing deterministic on
// replay.
//
// It also plans compactions (compaction.go: counting deletes, rewriting
// segments without deleted or expired rows, merging small ones, dropping
// delete logs no segment needs; a data node executes them) and collects
// garbage (gc.go: files of dropped segments after a tolerance, orphan
// files). See docs/compaction.md.
//
// State lives in the meta store under "data/"; an in-memory copy serves
// reads. One mutex (mu) guards it. Listeners (index coordinator, query
// coordinator) are called after a change is persisted, without mu held.
package datacoord
