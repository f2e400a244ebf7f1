// Package shardroute routes the proxy's per-shard reads to the query
// nodes serving them, as Milvus's proxy shard-leader cache and load
// balancing policy do: the query coordinator's replicas (each shard's
// leader node per replica) are cached per collection and refreshed on a
// failure or after a while; each sub-request goes to one replica's node,
// round robin over the replicas, and a failed one is retried at once on
// the other replicas, so a query node's death costs no request while
// another replica serves the shard. An attempt that has not answered
// within Config.AttemptTimeout (a hung or paused node, a partition that
// drops packets) is hedged: the next replica is asked too, and the first
// answer wins, so a stalled node delays a read by one attempt timeout
// instead of stalling it.
package shardroute

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// leaders describes a loaded collection's replicas (the query coordinator).
type leaders interface {
	Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error)
}

// Reader serves one shard's reads (a query node, or its client).
type Reader interface {
	Search(ctx context.Context, req *contract.SearchRequest) (*contract.SearchResult, error)
	Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error)
}

// dialer reaches a query node by its server ID and address.
type dialer interface {
	Dial(ctx context.Context, nodeID int64, addr string) (Reader, error)
}

// Config tunes the router.
type Config struct {
	// CacheTTL is how long a collection's shard leaders are used before
	// they are asked for again (a node that joined gets traffic). The
	// request that finds them older still uses them while they are asked
	// for in the background; a failed read asks at once.
	CacheTTL time.Duration
	// Penalty is how long a node that failed is tried after the others.
	Penalty time.Duration
	// Rounds is how many times a shard's replicas are all tried, the
	// leaders refreshed in between, before the request fails.
	Rounds int
	// Backoff is the pause before each round after the second.
	Backoff time.Duration
	// AttemptTimeout is how long one replica's attempt runs alone: past
	// it, the next replica is asked as well (the first answer wins, the
	// other attempt is cancelled) and the slow node is tried last for
	// Penalty. The last replica's attempt runs until the request's own
	// deadline, so a read slower than this on every replica still
	// completes. 0: no hedging.
	AttemptTimeout time.Duration
}

// Default returns the defaults.
func Default() Config {
	return Config{CacheTTL: 3 * time.Second, Penalty: 5 * time.Second, Rounds: 3, Backoff: 200 * time.Millisecond,
		AttemptTimeout: time.Second}
}

// Router implements the proxy's shards over the replicas of each loaded
// collection.
type Router struct {
	cfg    Config
	lead   leaders
	nodes  dialer
	logger *slog.Logger
	rr     atomic.Uint64

	mu         sync.Mutex
	cache      map[int64]cached
	epoch      uint64              // Invalidate calls so far
	refreshing map[int64]bool      // collections whose leaders are being refreshed in the background
	down       map[int64]time.Time // node → when it last failed
}

type cached struct {
	replicas []contract.Replica
	at       time.Time
}

// New returns a router asking lead for shard leaders and reaching nodes
// through nodes.
func New(cfg Config, lead leaders, nodes dialer, logger *slog.Logger) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 1
	}
	return &Router{cfg: cfg, lead: lead, nodes: nodes, logger: logger.With("component", "shardroute"),
		cache: map[int64]cached{}, refreshing: map[int64]bool{}, down: map[int64]time.Time{}}
}

// Search searches one shard on one of its replicas.
func (r *Router) Search(ctx context.Context, req *contract.SearchRequest) (*contract.SearchResult, error) {
	return route(ctx, r, true, req.CollectionID, req.VChannel, func(ctx context.Context, n Reader) (*contract.SearchResult, error) {
		return n.Search(ctx, req)
	})
}

// Query queries one shard on one of its replicas.
func (r *Router) Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error) {
	return route(ctx, r, false, req.CollectionID, req.VChannel, func(ctx context.Context, n Reader) (*contract.QueryResult, error) {
		return n.Query(ctx, req)
	})
}

// Leader is the first node route asks for a shard's reads (0: none).
func (r *Router) Leader(ctx context.Context, collectionID int64, vchannel string) (int64, error) {
	cands, err := r.candidates(ctx, collectionID, vchannel, false)
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	return cands[0].node, nil
}

// Invalidate drops a collection's cached leaders (released or reloaded).
func (r *Router) Invalidate(collectionID int64) {
	r.mu.Lock()
	r.epoch++
	delete(r.cache, collectionID)
	r.mu.Unlock()
}

type leader struct {
	replica, node int64
	addr          string
}

// route runs call on the shard's replicas until one answers: each round
// tries every replica (hedging slow ones, attempts), then refreshes the
// leaders. A failed replica's error is the last attempt's, as Milvus's
// load balancer reports it (errs.ShardRead: the node and the channel it
// was asked for, and whether the node refused or the call failed); search
// tells a search from a query for that text. Failing to find the shard's
// leaders is the coordinator's error, or channel not available.
func route[T any](ctx context.Context, r *Router, search bool, collectionID int64, vchannel string, call func(context.Context, Reader) (T, error)) (T, error) {
	var zero T
	var lastErr error
	for round := range r.cfg.Rounds {
		if round > 1 {
			select {
			case <-ctx.Done():
				return zero, ctx.Err()
			case <-time.After(r.cfg.Backoff):
			}
		}
		cands, err := r.candidates(ctx, collectionID, vchannel, round > 0)
		if err != nil {
			if errors.Is(err, errs.ErrCollectionNotLoaded) || ctx.Err() != nil {
				return zero, err
			}
			lastErr = err
			continue
		}
		if len(cands) == 0 {
			lastErr = errs.ChannelNotAvailable(vchannel, "no available shard leaders")
			continue
		}
		v, err := attempts(ctx, r, search, collectionID, vchannel, cands, call)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, err
		}
		lastErr = err
		r.Invalidate(collectionID)
	}
	r.logger.Debug("shard read failed on every replica", "collection", collectionID, "channel", vchannel,
		"rounds", r.cfg.Rounds, "err", lastErr)
	return zero, lastErr
}

// readError is the error of candidate c's attempt at a shard read: err
// from dialing it (dialed false) or from its answer, as Milvus's load
// balancer wraps a delegator's failure. The node refused (rather than the
// call failing) unless the dial failed, the call did not reach it
// (service unavailable) or the context ended.
func readError(search bool, c leader, vchannel string, dialed bool, err error) error {
	answered := dialed && !errors.Is(err, errs.ErrServiceUnavailable) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	return errs.ShardRead(search, c.node, vchannel, answered, err)
}

// attempt is the outcome of one replica's attempt.
type attempt[T any] struct {
	v      T
	err    error
	dialed bool
	c      leader
}

// attempts asks the candidates in order: the next one when an attempt
// fails, or alongside it when it has run for AttemptTimeout. It returns
// the first answer, or the last error once every candidate failed.
// Attempts still running when it returns are cancelled and waited for.
func attempts[T any](ctx context.Context, r *Router, search bool, collectionID int64, vchannel string, cands []leader,
	call func(context.Context, Reader) (T, error)) (T, error) {
	if len(cands) == 1 {
		// Nothing to hedge with: call in this goroutine, sparing the
		// request a goroutine, a channel hand-off and a context (the
		// common case of a collection loaded with one replica).
		c := cands[0]
		n, err := r.nodes.Dial(ctx, c.node, c.addr)
		dialed := err == nil
		if dialed {
			var v T
			if v, err = call(ctx, n); err == nil {
				return v, nil
			}
		}
		if ctx.Err() == nil {
			r.logger.Debug("shard read failed", "collection", collectionID, "channel", vchannel,
				"replica", c.replica, "node", c.node, "err", err)
			r.markDown(c.node)
		}
		var zero T
		return zero, readError(search, c, vchannel, dialed, err)
	}
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	results := make(chan attempt[T], len(cands))
	next, pending := 0, 0
	launch := func() {
		c := cands[next]
		next++
		pending++
		wg.Go(func() {
			var out attempt[T]
			out.c = c
			n, err := r.nodes.Dial(actx, c.node, c.addr)
			if err == nil {
				out.dialed = true
				out.v, err = call(actx, n)
			}
			out.err = err
			results <- out
		})
	}
	launch()
	var zero T
	var lastErr error
	for pending > 0 {
		var hedge <-chan time.Time
		if next < len(cands) && r.cfg.AttemptTimeout > 0 {
			t := time.NewTimer(r.cfg.AttemptTimeout)
			defer t.Stop()
			hedge = t.C
		}
		select {
		case res := <-results:
			pending--
			if res.err == nil {
				return res.v, nil
			}
			if ctx.Err() != nil {
				return zero, readError(search, res.c, vchannel, res.dialed, res.err)
			}
			r.logger.Debug("shard read failed; trying another replica", "collection", collectionID, "channel", vchannel,
				"replica", res.c.replica, "node", res.c.node, "err", res.err)
			r.markDown(res.c.node)
			lastErr = readError(search, res.c, vchannel, res.dialed, res.err)
			if next < len(cands) {
				launch()
			}
		case <-hedge:
			slow := cands[next-1]
			r.logger.Debug("shard read slow; asking another replica too", "collection", collectionID, "channel", vchannel,
				"replica", slow.replica, "node", slow.node, "after", r.cfg.AttemptTimeout)
			r.markDown(slow.node)
			launch()
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
	return zero, lastErr
}

// refreshAsync asks for a collection's leaders again, outside any request.
func (r *Router) refreshAsync(collectionID int64, epoch uint64) {
	defer func() {
		r.mu.Lock()
		delete(r.refreshing, collectionID)
		r.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	rs, err := r.lead.Replicas(ctx, collectionID)
	if err != nil {
		// Released, or the coordinator is away: forget the entry, so
		// that the next request asks (and reports) for itself.
		r.logger.Debug("refreshing shard leaders failed", "collection", collectionID, "err", err)
		r.mu.Lock()
		if r.epoch == epoch {
			delete(r.cache, collectionID)
		}
		r.mu.Unlock()
		return
	}
	r.store(collectionID, cached{replicas: rs, at: time.Now()}, epoch)
}

// refreshTimeout bounds a background refresh of the leaders.
const refreshTimeout = 10 * time.Second

// store caches a collection's leaders read at epoch, unless an
// Invalidate came since (what was read may predate it).
func (r *Router) store(collectionID int64, c cached, epoch uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epoch == epoch {
		r.cache[collectionID] = c
	}
}

// markDown puts node last among the candidates for Penalty.
func (r *Router) markDown(node int64) {
	r.mu.Lock()
	r.down[node] = time.Now()
	r.mu.Unlock()
}

// candidates lists the shard's leaders, one per replica that has one,
// starting at the next replica round robin, nodes that failed lately last.
func (r *Router) candidates(ctx context.Context, collectionID int64, vchannel string, refresh bool) ([]leader, error) {
	r.mu.Lock()
	c, ok := r.cache[collectionID]
	epoch := r.epoch
	stale := ok && !refresh && time.Since(c.at) > r.cfg.CacheTTL && !r.refreshing[collectionID]
	if stale {
		r.refreshing[collectionID] = true
	}
	r.mu.Unlock()
	switch {
	case refresh || !ok:
		rs, err := r.lead.Replicas(ctx, collectionID)
		if err != nil {
			return nil, err
		}
		c = cached{replicas: rs, at: time.Now()}
		r.store(collectionID, c, epoch)
	case stale:
		// Past its TTL but not known to be wrong (a failure refreshes
		// at once, above): this request uses it, and a refresh runs
		// alongside, so no search waits for the query coordinator.
		go r.refreshAsync(collectionID, epoch)
	}
	var all []leader
	for _, rep := range c.replicas {
		for _, sh := range rep.Shards {
			if sh.VChannel == vchannel && sh.NodeID != 0 {
				all = append(all, leader{replica: rep.ID, node: sh.NodeID, addr: sh.Addr})
			}
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	start := int(r.rr.Add(1) % uint64(len(all)))
	ordered := append(all[start:len(all):len(all)], all[:start]...)
	r.mu.Lock()
	defer r.mu.Unlock()
	var healthy, penalized []leader
	for _, l := range ordered {
		if t, bad := r.down[l.node]; bad && time.Since(t) < r.cfg.Penalty {
			penalized = append(penalized, l)
			continue
		}
		delete(r.down, l.node)
		healthy = append(healthy, l)
	}
	return append(healthy, penalized...), nil
}
