package objstoretest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/milvago/milvago/internal/objstore"
)

// ErrInjected is the error a Faulty store fails with.
var ErrInjected = errors.New("objstoretest: injected fault")

// Faulty wraps a Store and makes every call after the first FailAfter fail
// with ErrInjected (Close excepted), to test recovery at each failure point:
//
//	for n := 0; ; n++ {
//		f := &objstoretest.Faulty{Store: objstore.NewMemory(), FailAfter: n}
//		if err := flush(ctx, f); err == nil { break }
//		// check that a retry or a restart recovers
//	}
//
// A negative FailAfter never fails. Calls counts every call.
type Faulty struct {
	objstore.Store
	FailAfter int

	calls atomic.Int64
}

var _ objstore.Store = (*Faulty)(nil)

// Calls returns how many calls the store has seen, failed ones included.
func (f *Faulty) Calls() int { return int(f.calls.Load()) }

func (f *Faulty) fail(op, key string) error {
	n := f.calls.Add(1)
	if f.FailAfter >= 0 && n > int64(f.FailAfter) {
		return fmt.Errorf("objstore: %s %q (call %d): %w", op, key, n, ErrInjected)
	}
	return nil
}

// Put implements objstore.Store.
func (f *Faulty) Put(ctx context.Context, key string, data []byte) error {
	if err := f.fail("put", key); err != nil {
		return err
	}
	return f.Store.Put(ctx, key, data)
}

// Get implements objstore.Store.
func (f *Faulty) Get(ctx context.Context, key string) ([]byte, error) {
	if err := f.fail("get", key); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, key)
}

// GetRange implements objstore.Store.
func (f *Faulty) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if err := f.fail("get range", key); err != nil {
		return nil, err
	}
	return f.Store.GetRange(ctx, key, off, length)
}

// Map implements objstore.Store.
func (f *Faulty) Map(ctx context.Context, key string) (objstore.Mapping, error) {
	if err := f.fail("map", key); err != nil {
		return nil, err
	}
	return f.Store.Map(ctx, key)
}

// Stat implements objstore.Store.
func (f *Faulty) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := f.fail("stat", key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	return f.Store.Stat(ctx, key)
}

// List implements objstore.Store.
func (f *Faulty) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	if err := f.fail("list", prefix); err != nil {
		return nil, err
	}
	return f.Store.List(ctx, prefix)
}

// Delete implements objstore.Store.
func (f *Faulty) Delete(ctx context.Context, key string) error {
	if err := f.fail("delete", key); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key)
}

// DeletePrefix implements objstore.Store.
func (f *Faulty) DeletePrefix(ctx context.Context, prefix string) error {
	if err := f.fail("delete prefix", prefix); err != nil {
		return err
	}
	return f.Store.DeletePrefix(ctx, prefix)
}
