// Package streaming is the single writer of each physical channel, the role
// Milvus 2.6 gives its streaming node. Every DML message goes through it:
// under the channel's lock it takes a fresh timestamp from the TSO, asks
// the data coordinator which segment an insert belongs to (sealing full
// segments with a Seal message first), and appends to the log. So within a
// physical channel, timestamps strictly increase in log order, and a time
// tick at T really means "nothing at or below T will follow".
//
// Time ticks are written only when a channel has news: shortly after a
// burst of DML (so Bounded reads and data nodes move on), and on demand
// when a reader needs the channel's service time to pass a guarantee
// timestamp (SyncTo). An idle server writes nothing and burns no CPU —
// unlike Milvus, which ticks every channel every 200 ms.
//
// Several writers (cluster mode) hold the physical channels under terms
// (package streamingcoord); a writer checks its ownership before every
// append, and when the log implements logbroker.Fencing it also appends
// through a producer opened under its term, so the log itself refuses an
// append of a deposed writer that comes after the next writer's first
// (docs/log-fencing.md). Either refusal answers "channel misrouted" (507).
//
// Lock order: channel.mu, then the data coordinator's lock (inside
// AssignSegment / SealChannel).
package streaming
