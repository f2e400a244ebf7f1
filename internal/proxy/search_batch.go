package proxy

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/milvago/milvago/internal/contract"
)

// subBatch gathers the shard requests of a hybrid search's sub-searches
// into one request per shard (contract.SearchRequest.Subs), which the
// shard answers at one MVCC timestamp, as Milvus's proxy sends an
// advanced search's sub-requests to each channel in one request. Searched
// one by one, each sub-search would read a shard at its own service time:
// a row deleted between two of them would be a hit of one, and the
// requery of the fused hits, which can read at one timestamp only, would
// miss it (2200 inconsistent requery result).
//
// Each sub-search, run as a plain search, either joins with its per-shard
// requests (join) and waits for its answers, or leaves (answered without
// the shards, or failed); run sends once every sub-search did one or the
// other.
type subBatch struct {
	mu      sync.Mutex
	state   []subState
	pending int                         // sub-searches that neither joined nor left
	reqs    [][]*contract.SearchRequest // by sub-search, by shard
	ready   chan struct{}               // closed when pending reaches 0
	done    chan struct{}               // closed when results or err are set
	results [][]*contract.SearchResult  // by sub-search, by shard
	err     error
}

type subState uint8

const (
	subPending subState = iota
	subJoined
	subLeft
)

func newSubBatch(n int) *subBatch {
	b := &subBatch{state: make([]subState, n), pending: n, reqs: make([][]*contract.SearchRequest, n),
		ready: make(chan struct{}), done: make(chan struct{}), results: make([][]*contract.SearchResult, n)}
	if n == 0 {
		close(b.ready)
	}
	return b
}

// arrive counts sub-search i in; b.mu is held.
func (b *subBatch) arrive(i int, st subState) {
	if b.state[i] != subPending {
		return
	}
	b.state[i] = st
	b.pending--
	if b.pending == 0 {
		close(b.ready)
	}
}

// join hands sub-search i's per-shard requests to the batch and returns
// its per-shard answers once the batch is sent.
func (b *subBatch) join(ctx context.Context, i int, reqs []*contract.SearchRequest) ([]*contract.SearchResult, error) {
	b.mu.Lock()
	b.reqs[i] = reqs
	b.arrive(i, subJoined)
	b.mu.Unlock()
	select {
	case <-b.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.results[i], nil
}

// leave tells the batch sub-search i sends nothing; after join it does
// nothing (sub-searches defer it).
func (b *subBatch) leave(i int) {
	b.mu.Lock()
	b.arrive(i, subLeft)
	b.mu.Unlock()
}

// run waits for every sub-search to join or leave, then asks each shard
// once for all the joined ones. A failure is the joined sub-searches'
// answer (each maps it as its own shard read's); run itself returns only
// when ctx ends first.
func (b *subBatch) run(ctx context.Context, sh shards) error {
	select {
	case <-b.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer close(b.done)
	var joined []int
	for i, st := range b.state {
		if st == subJoined {
			joined = append(joined, i)
		}
	}
	if len(joined) == 0 {
		return nil
	}
	nShards := len(b.reqs[joined[0]])
	for _, j := range joined {
		b.results[j] = make([]*contract.SearchResult, nShards)
	}
	ask := func(ctx context.Context, si int) error {
		first := b.reqs[joined[0]][si]
		req := &contract.SearchRequest{CollectionID: first.CollectionID, VChannel: first.VChannel, PartitionIDs: first.PartitionIDs,
			GuaranteeTS: first.GuaranteeTS, PinMVCC: first.PinMVCC, TTLNow: first.TTLNow, Subs: make([]*contract.SearchRequest, len(joined))}
		for k, j := range joined {
			if len(b.reqs[j]) != nShards {
				return fmt.Errorf("hybrid search: sub-search %d asks %d shards, sub-search %d %d", j, len(b.reqs[j]), joined[0], nShards)
			}
			req.Subs[k] = b.reqs[j][si]
		}
		r, err := sh.Search(ctx, req)
		if err != nil {
			return err
		}
		if len(r.Subs) != len(joined) {
			return fmt.Errorf("hybrid search: shard %s answered %d of %d sub-searches", first.VChannel, len(r.Subs), len(joined))
		}
		for k, j := range joined {
			b.results[j][si] = r.Subs[k]
		}
		return nil
	}
	if nShards == 1 {
		b.err = ask(ctx, 0)
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for si := range nShards {
		g.Go(func() error { return ask(gctx, si) })
	}
	b.err = g.Wait()
	return nil
}
