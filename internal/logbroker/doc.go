// Package logbroker is the log: ordered, durable, replayable channels.
// Every mutation is a message in the log ("log as data"); the log is the
// source of truth for everything not yet flushed to the object store.
//
// The contract is WAL-shaped, like Milvus 2.6's streaming WAL: Append
// returns a MessageID once the message is durably stored; readers read from
// any MessageID; old messages are truncated once a checkpoint passes them.
// Time ticks are ordinary messages. Checkpoints live in the meta store and
// are owned by the coordinators, so no backend needs consumer groups or acks.
//
// Standalone embeds a NATS JetStream server with its file store under the
// data directory; cluster mode talks to an external NATS (or Kafka) broker
// through the same client code.
//
// # Implementations
//
//   - Memory: everything in process memory, for fast tests of the data
//     path. Full contract, nothing survives Close.
//   - NATS: NATS JetStream through github.com/nats-io/nats.go/jetstream.
//     NewNATS connects to an external server (cluster mode);
//     StartEmbedded runs nats-server in this process (standalone) and
//     returns an Embedded whose Log is a NATS.
//   - Kafka: one single-partition topic per channel through franz-go
//     (github.com/twmb/franz-go); NewKafka connects to a Kafka cluster.
//
// All run the conformance suite in package logbrokertest.
//
// All three also implement Fencing: producers under an epoch (the
// writer's ownership term) such that a deposed writer's late append never
// counts after the next writer's first (docs/log-fencing.md). On Memory and
// NATS appends are conditional on the channel's last message (fence.go);
// Kafka has no conditional produce, so the record is stored but every
// reader skips it, deciding from the records before it, and its writer is
// told ErrFenced (kafka_fence.go).
//
// # Mapping to Kafka
//
// Channel c is the topic <prefix><escaped c> (prefix "milvago-log-"),
// created on first Append or Read with one partition, the configured
// replication factor, min.insync.replicas=2 from 3 replicas up, no time or
// size retention (cleanup.policy=delete, retention.ms=-1,
// retention.bytes=-1: only Truncate removes messages) and a
// max.message.bytes that fits MaxMessageBytes plus properties. A message's
// ID is its offset + 1, so IDs are contiguous. Append is a synchronous
// produce with acks=all and the idempotent producer; properties are record
// headers, byte for byte. Latest is the high watermark (the ID of the
// last message, unchanged when everything is truncated; that record may
// be a fenced one no reader returns). Truncate(upTo)
// clamps upTo to the high watermark and calls DeleteRecords, which moves
// the partition's log start offset to it; the log start offset is the
// truncation point T (IDs <= T are gone), kept by Kafka across restarts
// and seen by every process. The one exception: the records from the one
// that holds the fence state at upTo (the last accepted record of a
// Producer at or before it, usually upTo itself) stay stored; the
// truncating value never returns them again, a reader in another process
// starting from the oldest message may. (A broker that crashes may come back with an
// older log start offset, as Kafka checkpoints it periodically: a Kafka
// value that set or saw a higher T reads from it and truncates again.) Read(after) fails with ErrTruncated when
// 0 < after < T, and otherwise starts a franz-go client of its own that
// consumes the partition directly (no consumer group, nothing stored in
// the brokers) from offset after. Its reset policy is "none", so a
// truncation that passes the reader makes its next fetch fail with
// OffsetOutOfRange, reported as ErrTruncated, instead of restarting at
// the oldest message; truncations through the same Kafka value are also
// caught for records already fetched.
//
// # Mapping to JetStream
//
// One stream per log, "<prefix>_LOG" (prefix "MILVAGO" unless configured),
// with two subjects per channel:
//
//	<prefix>.log.<token>    the channel's messages
//	<prefix>.trunc.<token>  its truncation point (the last message only)
//
// <token> is the channel name when it is made of letters, digits, '-' and
// '_' (every Milvus channel name is), otherwise "~" + base64url(name).
//
// Why one stream rather than one per channel: there are collections x
// shards channels, created and dropped all the time. Every stream is a
// directory of block files with its own goroutines and timers and, with
// replicas, its own Raft group; thousands of them cost memory and start-up
// time, and creating one is a round trip that Append would have to make
// on first use. A subject costs a few bytes of the stream's subject index,
// exists as soon as something is published to it, and JetStream can do
// everything the contract needs per subject: read from a sequence with a
// subject filter, get the last message of a subject, purge a subject below
// a sequence. The price:
//
//   - MessageIDs are the stream's sequence numbers: strictly increasing
//     per channel, but not contiguous (the contract allows this, and Memory
//     copies it so that no caller relies on ID+1).
//   - All channels share one write path and one Raft group; sharding the
//     channels over several streams by hash is a compatible change if one
//     stream ever becomes the bottleneck.
//   - Channels share block files. The file store drops a block once all
//     its messages are gone and rewrites it once more than half of its
//     bytes are, so a channel that is never truncated costs its own bytes
//     and at most as much again of other channels' purged ones.
//
// Append publishes to the channel's subject with an expected-stream header
// and returns the sequence from JetStream's publish acknowledgement, which
// the server sends only after the stream has stored the message (and a
// quorum of replicas has it). Properties travel as headers, escaped so that
// any string round-trips (see MaxPropertiesBytes).
//
// Read creates an ordered consumer filtered to the channel's subject and
// starting at after+1: ephemeral, in server memory, ack-less, recreated by
// the client at the right sequence if a message is missed; Reader.Close
// deletes it and the server drops a forgotten one after a minute. No
// durable consumer state lives in the broker: checkpoints live in the meta
// store. Each reader has a NATS connection of its own, so that its idle
// heartbeat never waits behind another reader's big messages; a pull the
// server never answered is retried after two heartbeats: max_payload at
// 1 MiB/s, at least 2 s, at most 10 s (readerHeartbeatFor).
//
// Latest is the sequence of the subject's last message (a "get last
// message for subject" request to the stream leader), or the channel's
// truncation point if that is higher.
//
// Truncate(upTo) clamps upTo to the channel's last message, stores it as
// the only message of the channel's trunc subject (a compare-and-set on
// that subject's last sequence, so that truncations racing from several
// processes never move the point backwards), then purges the data subject
// below upTo+1, except the subject's last message, which stays stored (Read
// never returns it again) so that a fenced producer's expected last
// sequence is always there to compare with (Fencing, docs/log-fencing.md).
// Storing the point first makes a crash between the
// two steps harmless: Read refuses positions below the stored point, and
// messages not yet purged below it are never delivered.
//
// A reader never skips a purged message silently. Its consumer, once the
// purge has removed messages it had not fetched yet, goes on with the
// first message left; since IDs are shared by every channel, a gap in
// the IDs it reads does not tell it so. Every message a fenced producer
// appends (the whole data path) carries a Milvago-Prev header: the
// channel's previous sequence, the same expected last sequence the
// stream checked before storing it. A message whose Milvago-Prev is
// past the reader's position follows one the reader never got: Next
// reads the mark (which the truncator stored before purging) and fails
// with ErrTruncated. Otherwise no message of the channel lies in the gap,
// and that costs no round trip. A message without the header (plain
// Append) after a gap makes Next read the mark from the server. ErrTruncated is
// exact with respect to that point: Read(after) fails iff 0 < after < T.
// It is conservative in one way: after may be below T although no message
// of the channel lies between them, since IDs are not contiguous; callers
// only truncate below their checkpoints, so readers never hit this.
//
// MaxMessageBytes is the server's max_payload (8 MiB in the embedded
// server, 1 MiB by default elsewhere) minus 4 KiB kept for headers; the
// proxy splits larger inserts.
//
// # Durability
//
// With one replica (standalone) the file store writes every message to its
// block file with write(2) before it acknowledges it, and fsyncs every
// SyncInterval (default 1 s here, 2 min in nats-server) or, with
// SyncAlways, before each acknowledgement. So:
//
//   - A crash of the process (kill -9, OOM kill, panic) loses nothing that
//     was acknowledged, whatever the sync settings: the data is in the OS
//     page cache and reaches the disk anyway. TestCrashKill9 checks this
//     by killing a child process in the middle of a stream of appends.
//   - A crash of the OS or a power loss can lose the acknowledged appends
//     of the last SyncInterval, unless SyncAlways is set. Measured on a
//     2-core VM with virtual disk (docs/storage.md, "Log broker"): SyncAlways
//     costs about an order of magnitude in append throughput, so standalone
//     defaults to a 1 s interval and SyncAlways is one config flag away.
//   - With replicas (cluster), JetStream acknowledges once a quorum has the
//     message, which survives the loss of a minority of machines; each
//     replica's disk follows the same sync settings.
//
// # Concurrency
//
// Every method of Memory, NATS and their readers may be called from any
// goroutine. A Reader's Next calls are serialised; Close may be called
// while Next blocks and makes it return ErrClosed. Locks: Memory.mu, then
// none (memReader.mu is taken before Memory.mu, never after); NATS.mu and
// natsReader.mu are never held across a network call except natsReader.mu,
// which serialises Next.
package logbroker
