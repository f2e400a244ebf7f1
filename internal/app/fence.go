package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/session"
)

// fencedStore is the meta store as an active coordinator writes it: every
// write is a transaction conditioned on the coordinator's election key
// still having the revision it won it at (session.Leadership.Fence). A
// deposed coordinator (its lease expired and a standby took over) cannot
// write, even before it notices: its write fails with an error wrapping
// session.ErrDeposed. Reads, watches and leases pass through.
type fencedStore struct {
	kv.Store
	fence kv.Cond
}

func newFencedStore(store kv.Store, lead *session.Leadership) *fencedStore {
	return &fencedStore{Store: store, fence: lead.Fence()}
}

// deposed explains a fenced transaction that did not apply: if the fence
// no longer holds it returns an error wrapping session.ErrDeposed, else nil
// (a condition of the caller's failed).
func (s *fencedStore) deposed(ctx context.Context) error {
	cur, err := s.Store.Get(ctx, s.fence.Key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return fmt.Errorf("kv: check election key %s: %w", s.fence.Key, err)
	case cur.Revision == s.fence.Revision:
		return nil
	}
	return fmt.Errorf("kv: write refused: election key %s is no longer at revision %d: %w",
		s.fence.Key, s.fence.Revision, session.ErrDeposed)
}

// write applies ops under the fence alone.
func (s *fencedStore) write(ctx context.Context, ops []kv.Op) error {
	ok, err := s.Store.Txn(ctx, []kv.Cond{s.fence}, ops)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.deposed(ctx); err != nil {
			return err
		}
		return fmt.Errorf("kv: fenced write of %s did not apply", ops[0].Key)
	}
	return nil
}

// Put writes key under the fence. The revision it returns is key's
// revision read right after the write.
func (s *fencedStore) Put(ctx context.Context, key string, value []byte) (int64, error) {
	if err := s.write(ctx, []kv.Op{{Key: key, Value: value}}); err != nil {
		return 0, err
	}
	cur, err := s.Store.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("kv: read back %s: %w", key, err)
	}
	return cur.Revision, nil
}

func (s *fencedStore) Delete(ctx context.Context, key string) error {
	return s.write(ctx, []kv.Op{{Key: key, Delete: true}})
}

func (s *fencedStore) PutWithLease(ctx context.Context, key string, value []byte, lease kv.LeaseID) error {
	return s.write(ctx, []kv.Op{{Key: key, Value: value, Lease: lease}})
}

// Txn applies ops if conds and the fence hold. A transaction refused by
// the fence is an error (wrapping session.ErrDeposed), not a false.
func (s *fencedStore) Txn(ctx context.Context, conds []kv.Cond, ops []kv.Op) (bool, error) {
	ok, err := s.Store.Txn(ctx, append(append([]kv.Cond(nil), conds...), s.fence), ops)
	if err != nil || ok {
		return ok, err
	}
	if err := s.deposed(ctx); err != nil {
		return false, err
	}
	return false, nil
}
