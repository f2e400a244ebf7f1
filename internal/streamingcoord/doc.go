// Package streamingcoord assigns the log's physical channels (pchannels)
// to the live streaming nodes, the job of Milvus 2.6's streaming
// coordinator, and fences their hand-over.
//
// Each pchannel has one writer at a time, recorded in the meta store under
// streaming/pchannel/<pchannel> as {node, term, from}: the streaming node
// that writes it, a term that grows with every change of writer, and the
// previous writer. The coordinator (Coord, hosted with the root
// coordinator, its writes fenced by that leadership) deals the pchannels
// evenly over the live streaming nodes (package placement): a dead node's
// pchannels go to the live ones at once, and a node that joins takes them
// one at a time from the busiest.
//
// A hand-over is fenced on the streaming nodes (Ownership):
//
//  1. The old writer, seeing the pchannel assigned elsewhere, stops
//     writing it: it takes the channel's lock, so its last append has
//     returned (an append returns once the log holds it durably), and from
//     then on refuses every append with "channel misrouted" (507). It then
//     writes streaming/released/<pchannel> = {term}.
//  2. The new writer starts only when the release of its term is recorded,
//     or the old writer's session is gone. A session ends (lease expiry)
//     only after its process stopped trusting it (session.Fresh: no append
//     once the process was cut off for half the TTL), so a dead or cut-off
//     writer cannot append after its successor's first append either.
//  3. The new writer reloads the pchannel's state: its last log position
//     and timestamp (its own timestamps, from the TSO, are larger: the
//     writer asserts it), and the Seal messages the data coordinator owes
//     the log; growing segments are the data coordinator's, so segment
//     assignment resumes where the old writer left it.
//
// Clients (the proxy's writer, the query nodes' SyncTo) route each call by
// Table, a watched copy of the assignments, and retry on a refusal or a
// dead writer (workerrpc.StreamingClient).
package streamingcoord
