// Package dispatcher shares one log reader per physical channel among the
// virtual channels a node consumes, as Milvus's msgdispatcher does: a
// query node serving a thousand collections keeps 16 readers open on the
// log (one per physical channel it reads), not a thousand. Before it, every
// shard opened its own reader, and the broker's limit on consumers per
// stream (1,000 by default in NATS JetStream) capped the number of loaded
// collections; each idle reader also cost the broker and the client
// heartbeats.
//
// # Model
//
// A Subscription is a logbroker.Reader of one virtual channel of one
// physical channel, positioned after a MessageID. It returns, in log
// order, every message of its virtual channel, plus time ticks: the real
// ticks of the physical channel, and synthetic ones (msg.KindTimeTick at
// the ID and timestamp of another virtual channel's message) when the
// shared reader has moved past messages of other virtual channels and the
// subscriber has nothing else to read. A subscriber therefore sees exactly
// what it would see reading the physical channel itself and skipping the
// other virtual channels' messages, except that consecutive messages of
// other channels collapse into one tick and their ticks arrive when the
// subscriber next has to wait (or at the next real tick), not one by one.
// Service time built from those ticks is what it was: the channel writer
// stamps a physical channel's messages with increasing timestamps, so a
// tick at (ID, TS) still means "nothing at or below TS follows".
//
// # Shared and catch-up readers
//
// Each physical channel has at most one shared reader. A subscription at
// or after the shared reader's position joins it at once (messages at or
// below its own start are skipped). One behind it gets a catch-up reader
// of its own (Milvus's "solo" dispatcher), which reads from its position
// until it reaches the shared reader and then joins it: at the join the
// shared reader has routed nothing past the catch-up reader's position,
// so no message is lost, and the messages both read are delivered once.
// Catch-up readers open at once are bounded (Config.MaxCatchUp); a
// subscription waits for a slot. The first subscription of an idle
// channel starts the shared reader at its own position; when the last
// subscription closes, the shared reader stops, so a node with nothing
// loaded holds no reader at all.
//
// # Errors
//
// A shared or catch-up reader that fails with a transient error is
// reopened at its position after Config.RetryDelay; subscribers notice
// nothing. logbroker.ErrTruncated (the log was truncated past the reader)
// ends only the subscriptions the truncation passed: a subscription that
// joined the shared reader at a start beyond its position (a shard
// resuming from a recent checkpoint beside a lagging one) has been
// delivered nothing yet, and if the log still holds what follows its
// start, the shared reader goes on from a new reader after the lowest
// such start. The others, and every subscription when no start is beyond
// the truncation, return ErrTruncated from Next once they have returned
// what was queued before. logbroker.ErrClosed ends the reader and all its
// subscriptions alike; the next Subscribe of the channel then starts a
// new shared reader.
//
// # Flow control
//
// Each subscription queues at most Config.QueueLen messages of its own
// virtual channel; the shared reader waits when a queue is full, so a
// slow subscriber slows its physical channel down, as one pipeline per
// physical channel would. Ticks are never queued: a subscription reads
// the shared reader's position when its queue is empty.
//
// # Concurrency
//
// Lock order: Dispatcher.mu, then channel.mu, then Subscription.mu. A
// Subscription's Next calls are serialised; Close may be called at any
// time, also while Next blocks, which then returns logbroker.ErrClosed.
package dispatcher
