// Package kv is the meta store: a small, transactional key-value contract
// over etcd. Standalone runs an embedded etcd server in-process
// (StartEmbedded); cluster mode points the same client code at an external
// cluster (NewEtcd). Coordinators keep all their durable state here
// (collections, segments, checkpoints, TSO window). Memory is a fake with
// the same behaviour for unit tests; package kvtest holds the conformance
// suite that all three pass, and a fault-injecting wrapper.
//
// # Semantics
//
// Keys are plain strings; the store adds its own root prefix, so stores with
// different roots on one server never see each other's keys. Values are
// opaque bytes owned by the caller after return.
//
// Every write gets a store revision, increasing across all keys (etcd's
// ModRevision). A Txn's ops share one revision. A Cond compares a key's
// revision: Revision 0 means "the key must not exist"; a key deleted and
// created again has a new revision, so a stale compare-and-swap fails.
// A Txn may not write the same key twice (etcd rejects it, and so does
// Memory), and etcd caps the ops per Txn (EmbedConfig.MaxTxnOps; 128 on a
// default external server).
//
// Watch(ctx, prefix, rev) delivers every change after rev, in revision order,
// then live changes; with rev 0, every change made after Watch returns. A
// List followed by a Watch from the highest revision it returned misses
// nothing. The channel closes when ctx ends, the store closes, or the
// server cannot continue (rev compacted away: the embedded server keeps the
// last EmbedConfig.CompactionRetention revisions); a caller whose ctx is
// still live then lists and watches again.
//
// Leases expire ttl seconds after their last keep-alive and take their keys
// with them, each as a delete event. etcd raises short TTLs to its minimum
// (2 s with the default 1 s election timeout). A Put without a lease
// detaches the key from its lease.
//
// A call whose ctx has ended before it starts does nothing. A write whose
// ctx ends while it is in flight may or may not have been applied, as with
// any remote store: re-read before retrying a non-idempotent write (a
// compare-and-swap Txn is safe to retry).
//
// # Durability
//
// etcd fsyncs its write-ahead log before it acknowledges a write: an OS
// crash or power loss loses nothing that a Put or a successful Txn returned
// for. The embedded server keeps UnsafeNoFsync false; do not change that.
//
// # A full disk
//
// etcd exits when a WAL save or a backend commit fails, so a store over an
// embedded server refuses writes (ErrDiskFull, Milvus's disk quota error)
// before etcd sees them once its disk is nearly full, and frees a reserve
// file for the writes already under way (DiskGuard, embed_disk.go). Reads
// are never refused; writes resume by themselves once the disk has room.
// etcd also panics when it cannot write a disk snapshot: on a full disk
// the guard refuses even the reserved writes short of the next one, and
// holds etcd's apply goroutine at a snapshot still due until there is
// room (embed_snap.go).
package kv
