package objstore

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned for a key that does not exist.
var ErrNotFound = errors.New("objstore: object not found")

// ErrOutOfRange is returned by GetRange for a range that is negative or
// extends past the end of the object.
var ErrOutOfRange = errors.New("objstore: range out of bounds")

// ErrInvalidKey is returned for a key the store cannot hold: empty, with an
// empty, "." or ".." segment, or starting with "/".
var ErrInvalidKey = errors.New("objstore: invalid key")

// ErrClosed is returned by calls on a store after Close.
var ErrClosed = errors.New("objstore: store closed")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key  string
	Size int64
}

// Mapping is an object's bytes made available for reading, memory-mapped
// when the store can (a local file) or read into memory otherwise. Bytes
// stays valid until Close; the caller must not modify it.
type Mapping interface {
	Bytes() []byte
	io.Closer
}

// Store is the object store contract. Every implementation runs the
// conformance suite in package objstoretest.
type Store interface {
	// Put stores data under key, durably (fsynced) before it returns.
	Put(ctx context.Context, key string, data []byte) error
	// Get returns the whole object, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetRange returns length bytes from offset off, or an error wrapping
	// ErrOutOfRange unless 0 <= off, 0 <= length and off+length <= size.
	GetRange(ctx context.Context, key string, off, length int64) ([]byte, error)
	// Map makes the object readable without copying it where possible.
	Map(ctx context.Context, key string) (Mapping, error)
	// Stat returns the object's size, or an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix.
	DeletePrefix(ctx context.Context, prefix string) error
	// Close releases the store's resources; calls after it fail with
	// ErrClosed. Mappings stay valid until their own Close.
	Close() error
}
