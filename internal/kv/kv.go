package kv

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get for a key that does not exist.
var ErrNotFound = errors.New("kv: key not found")

// ErrLeaseLost is returned by KeepAlive when the lease expired or was
// revoked, and by PutWithLease for a lease that no longer exists.
var ErrLeaseLost = errors.New("kv: lease expired or revoked")

// ErrClosed is returned by calls on a store after Close.
var ErrClosed = errors.New("kv: store closed")

// KeyValue is one entry with its modification revision.
type KeyValue struct {
	Key      string
	Value    []byte
	Revision int64 // the store revision at which Key was last written
}

// Op is one write in an atomic batch: a put, or a delete when Delete is set.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
	// DeletePrefix deletes every key starting with Key (only with Delete).
	DeletePrefix bool
	// Lease attaches a put to a lease (0: none). A Txn that would put with
	// a lease that no longer exists fails with an error wrapping
	// ErrLeaseLost (checked only when its conditions hold, as etcd does).
	Lease LeaseID
}

// Cond is a guard on an atomic batch: the batch applies only if Key's
// current revision equals Revision (0 means "Key must not exist").
type Cond struct {
	Key      string
	Revision int64
}

// EventType says what happened to a watched key.
type EventType int

// Watch event types.
const (
	EventPut EventType = iota
	EventDelete
)

// Event is one change seen by Watch.
type Event struct {
	Type EventType
	KeyValue
}

// LeaseID identifies a lease; keys attached to it vanish when it expires.
type LeaseID int64

// Store is the meta store contract. Every implementation runs the
// conformance suite in package kvtest.
type Store interface {
	// Get returns the value of key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (KeyValue, error)
	// List returns every entry whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]KeyValue, error)
	// ListWithRevision is List that also returns the store revision at
	// which it read (at least every entry's Revision). Watch(prefix, rev)
	// from it misses no change, even when the list is empty.
	ListWithRevision(ctx context.Context, prefix string) ([]KeyValue, int64, error)
	// Put writes key and returns the new store revision.
	Put(ctx context.Context, key string, value []byte) (int64, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Txn applies ops atomically if every cond holds. It reports whether
	// it applied; a failed condition is not an error.
	Txn(ctx context.Context, conds []Cond, ops []Op) (bool, error)
	// Watch streams changes under prefix made after revision rev (0: from now).
	// The channel closes when ctx ends or the store closes.
	Watch(ctx context.Context, prefix string, rev int64) <-chan Event
	// Grant creates a lease that expires ttlSeconds after its last keep-alive.
	Grant(ctx context.Context, ttlSeconds int64) (LeaseID, error)
	// KeepAlive refreshes lease until ctx ends; it returns nil when ctx
	// ends, or an error wrapping ErrLeaseLost when the lease is lost.
	KeepAlive(ctx context.Context, lease LeaseID) error
	// PutWithLease writes key attached to lease.
	PutWithLease(ctx context.Context, key string, value []byte, lease LeaseID) error
	// Revoke ends lease now and deletes its keys, each with a delete event
	// (a graceful shutdown uses it so that peers need not wait for the
	// TTL). Revoking a lease that is gone fails with ErrLeaseLost.
	Revoke(ctx context.Context, lease LeaseID) error
	// Close releases the store's resources and ends its watches and
	// keep-alives. Calls after Close fail with ErrClosed; Close is
	// idempotent.
	Close() error
}
