// Package retention truncates the log once nothing can need its old
// messages any more, so that the log broker's disk use follows the data
// that is not yet in the object store instead of growing forever.
//
// The rule. A message at position p of a physical channel may be discarded
// once every virtual channel carried on that physical channel has a
// checkpoint >= p: everything at or below a vchannel's checkpoint is in the
// object store (its segments flushed, its deletes in L0 delta logs; see
// package datanode), so no restart and no shard load reads it again. The
// safe point of a pchannel is therefore the minimum checkpoint over every
// vchannel of every live collection that maps to it.
//
// Vchannels without a checkpoint. A vchannel whose checkpoint is 0 (none
// saved yet: a brand-new collection, or one whose first segment is still
// buffered) holds its pchannel: the minimum is 0 and nothing is truncated.
// We do not record a creation position as an initial checkpoint: the data
// node already gives every vchannel with nothing buffered a checkpoint at
// the next time tick on its pchannel, and a tick follows every burst of
// writes there, so a new collection holds truncation back only until the
// pchannel is written to again, and while it is not there is nothing new
// to truncate anyway. Readers that start at 0 ("the oldest retained
// message", never ErrTruncated) are thereby safe: while any vchannel of a
// pchannel has checkpoint 0, that pchannel is not truncated.
//
// Races with DDL. The collections are listed before and after the
// checkpoints are read, and a pass that sees the vchannel set change does
// nothing. A collection created after the second listing appends only
// after that, above every checkpoint read (a checkpoint is always the
// position of a message already in the log), so above the safe point.
// Dropped collections leave the listing and stop holding their pchannel.
//
// Lagging readers. A query node delegator may be replaying from an older
// checkpoint (its plan was made a while ago). Truncation is therefore
// delayed by a retention window (Config.Window, default 10 minutes): a
// safe point is truncated to only once it has been safe for the whole
// window. A delegator whose reader still hits logbroker.ErrTruncated asks
// for a fresh plan (checkpoint, flushed segments, delta logs) and reloads
// instead of failing (package querynode).
//
// Cost. The loop wakes every Config.Interval (30 s), reads collections and
// checkpoints from memory and calls the log only when a pchannel's
// truncation point moves, so an idle server does no I/O here.
//
// Unused pchannels. When the last collection on a pchannel is dropped,
// the next pass reads the pchannel's last position, lists the collections,
// and if none maps to it still, truncates everything up to that position:
// no one reads a dropped collection's messages. Which pchannels were in
// use is remembered in memory only; after a restart, given every pchannel
// (Deps.PChannels), the first pass treats them all as having been in use,
// so the ones no collection maps to are emptied by the second.
//
// One owner per pchannel. In cluster mode every streaming node runs the
// loop, but Deps.Owns limits each to the pchannels it writes now, so a
// pchannel is truncated by its current writer only and the duty follows
// hand-overs. A loop that loses a pchannel drops what it queued for it; one
// that (re)gains it waits out a whole window before truncating. For a
// moment around a hand-over two loops may both truncate the same pchannel:
// harmless, since both truncate only behind every checkpoint and the log
// never moves a truncation point backwards. Standalone (Owns nil) truncates
// every pchannel.
//
// Only Run's goroutine touches Server's state: no lock.
package retention
