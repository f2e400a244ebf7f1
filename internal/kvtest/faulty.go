package kvtest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/milvago/milvago/internal/kv"
)

// ErrInjected is the error a Faulty store fails with.
var ErrInjected = errors.New("kvtest: injected fault")

// Faulty wraps a Store and makes every call after the first FailAfter fail
// with ErrInjected (Close excepted; a failed Watch returns a closed
// channel), to test recovery at each failure point:
//
//	for n := 0; ; n++ {
//		f := &kvtest.Faulty{Store: kv.NewMemory(), FailAfter: n}
//		if err := createCollection(ctx, f); err == nil { break }
//		// check that the meta left behind is consistent
//	}
//
// A negative FailAfter never fails.
type Faulty struct {
	kv.Store
	FailAfter int

	calls atomic.Int64
}

var _ kv.Store = (*Faulty)(nil)

// Calls returns how many calls the store has seen, failed ones included.
func (f *Faulty) Calls() int { return int(f.calls.Load()) }

func (f *Faulty) fail(op, key string) error {
	n := f.calls.Add(1)
	if f.FailAfter >= 0 && n > int64(f.FailAfter) {
		return fmt.Errorf("kv: %s %q (call %d): %w", op, key, n, ErrInjected)
	}
	return nil
}

// Get implements kv.Store.
func (f *Faulty) Get(ctx context.Context, key string) (kv.KeyValue, error) {
	if err := f.fail("get", key); err != nil {
		return kv.KeyValue{}, err
	}
	return f.Store.Get(ctx, key)
}

// List implements kv.Store.
func (f *Faulty) List(ctx context.Context, prefix string) ([]kv.KeyValue, error) {
	if err := f.fail("list", prefix); err != nil {
		return nil, err
	}
	return f.Store.List(ctx, prefix)
}

// ListWithRevision implements kv.Store.
func (f *Faulty) ListWithRevision(ctx context.Context, prefix string) ([]kv.KeyValue, int64, error) {
	if err := f.fail("list", prefix); err != nil {
		return nil, 0, err
	}
	return f.Store.ListWithRevision(ctx, prefix)
}

// Put implements kv.Store.
func (f *Faulty) Put(ctx context.Context, key string, value []byte) (int64, error) {
	if err := f.fail("put", key); err != nil {
		return 0, err
	}
	return f.Store.Put(ctx, key, value)
}

// Delete implements kv.Store.
func (f *Faulty) Delete(ctx context.Context, key string) error {
	if err := f.fail("delete", key); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key)
}

// Txn implements kv.Store.
func (f *Faulty) Txn(ctx context.Context, conds []kv.Cond, ops []kv.Op) (bool, error) {
	if err := f.fail("txn", ""); err != nil {
		return false, err
	}
	return f.Store.Txn(ctx, conds, ops)
}

// Watch implements kv.Store.
func (f *Faulty) Watch(ctx context.Context, prefix string, rev int64) <-chan kv.Event {
	if err := f.fail("watch", prefix); err != nil {
		ch := make(chan kv.Event)
		close(ch)
		return ch
	}
	return f.Store.Watch(ctx, prefix, rev)
}

// Grant implements kv.Store.
func (f *Faulty) Grant(ctx context.Context, ttlSeconds int64) (kv.LeaseID, error) {
	if err := f.fail("grant", ""); err != nil {
		return 0, err
	}
	return f.Store.Grant(ctx, ttlSeconds)
}

// KeepAlive implements kv.Store.
func (f *Faulty) KeepAlive(ctx context.Context, lease kv.LeaseID) error {
	if err := f.fail("keep alive", ""); err != nil {
		return err
	}
	return f.Store.KeepAlive(ctx, lease)
}

// PutWithLease implements kv.Store.
func (f *Faulty) PutWithLease(ctx context.Context, key string, value []byte, lease kv.LeaseID) error {
	if err := f.fail("put with lease", key); err != nil {
		return err
	}
	return f.Store.PutWithLease(ctx, key, value, lease)
}

// Revoke implements kv.Store.
func (f *Faulty) Revoke(ctx context.Context, lease kv.LeaseID) error {
	if err := f.fail("revoke", ""); err != nil {
		return err
	}
	return f.Store.Revoke(ctx, lease)
}
