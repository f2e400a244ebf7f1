// Package session is how the processes of a cluster find each other and
// know who is alive: every process registers a lease-backed session in the
// meta store (kv.Store, etcd), coordinators elect one active process per
// role, and everyone else discovers and watches them. It follows Milvus's
// sessionutil: same key layout, same JSON field names.
//
// # Keys
//
// Under the store's root path:
//
//	session/id                counter: the next server ID to hand out (CAS loop, never reused)
//	session/<role>-<serverID> one per live process, JSON Info, attached to its lease
//	session/<role>            the role's active coordinator, JSON Info, same lease
//
// A mixcoord's election takes session/mixcoord and the keys of the
// coordinators it hosts (rootcoord, datacoord, querycoord, indexcoord) in
// one transaction, as Milvus's mixcoord does, so a client looking for the
// active rootcoord finds the mixcoord without knowing about it.
//
// # Liveness
//
// Register grants a lease of Config.TTL (Milvus's common.session.ttl,
// 15 s by default) and keeps it alive. When a keep-alive cannot renew it
// before the TTL passes (etcd unreachable, lease revoked, process paused),
// the session is lost: Done closes and Err wraps ErrLost. A process whose
// session is lost must stop serving (its work is being handed to others)
// and exit or re-register under a new server ID. Close revokes the lease,
// so peers see the process leave at once instead of after the TTL.
//
// A process about to shut down calls MarkStopping first (Milvus's GoingStop),
// so that watchers move work away before it closes.
//
// The etcd client notices a lost lease when TTL has passed since its last
// renewal answer, which can be a round trip after the server expired it:
// for that short window a cut-off active coordinator may still believe it
// leads. Fencing tokens close the window.
//
// # Election and fencing
//
// Campaign blocks until the session holds its role's election key (created
// only if absent, attached to the session's lease), then returns a
// Leadership. A standby waits on a watch of the key and tries again when
// the key is deleted: its holder closed, resigned or lost its lease. At most
// one session holds the key at any revision.
//
// The Leadership's Token is the election key's revision: it grows with
// every hand-over. A consumer fences its writes with it in one of two ways:
//
//   - Writes to the meta store: add lead.Fence() to the Txn's conditions.
//     The Txn applies only while the election key still has that revision,
//     so a deposed leader's write fails (Txn returns false) even if it has
//     not noticed yet:
//
//     ok, err := store.Txn(ctx, []kv.Cond{lead.Fence()}, ops)
//     if err == nil && !ok { /* deposed: stop acting as leader */ }
//
//   - Commands to other processes (a coordinator assigning work to a
//     worker): send the token with the command; the receiver remembers the
//     highest token it has accepted for that role and refuses commands
//     with a lower one.
//
// # Discovery
//
// List and Active read the current sessions of a role with the store
// revision of the read; Watch and WatchActive stream changes after a
// revision, so a List followed by a Watch from its revision misses nothing.
// With revision 0 a watch starts by reporting every live session as Added.
// Watches survive a compacted revision or a broken stream: they list again
// and report the difference.
package session
