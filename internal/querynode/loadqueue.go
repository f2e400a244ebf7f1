package querynode

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// loadQueue bounds the shard loads a query node runs at once and orders
// the waiting ones. After a restart the query coordinator loads every
// collection at once: loaded all together, every shard would finish at
// about the same time, and the first read of any collection would wait
// for nearly all of them. In arrival order with a fixed number of slots,
// shards finish one after another; a read that finds its shard still
// waiting moves it to the front (behind shards hurried earlier), so the
// collections in use load first. Every queued load still runs.
type loadQueue struct {
	mu      sync.Mutex
	slots   int           // the node's loadConcurrency
	free    int           // slots not in use
	waiting []*loadTicket // hurried tickets first, then in arrival order
	hurried int           // waiting[:hurried] were moved to the front by a read
}

// defaultLoadsPerCPU: a small shard's load mostly waits (the log's
// position, the object store), so one load per CPU left the CPUs idle:
// measured with 1,100 one-shard collections after a restart on 2 cores,
// all loaded again in 31 s with 2 slots against 15 s unbounded.
const defaultLoadsPerCPU = 4

// loadTicket is one load waiting for a slot.
type loadTicket struct {
	shard   *delegator
	ready   chan struct{} // closed when the ticket holds a slot
	granted bool          // guarded by loadQueue.mu
}

// newLoadQueue returns a queue of n slots; n <= 0: defaultLoadsPerCPU
// per CPU (GOMAXPROCS).
func newLoadQueue(n int) *loadQueue {
	if n <= 0 {
		n = defaultLoadsPerCPU * runtime.GOMAXPROCS(0)
	}
	return &loadQueue{slots: n, free: n}
}

// acquire waits for a slot for shard's load and returns its release. A
// nil queue (a delegator made without a server) is unbounded.
func (q *loadQueue) acquire(ctx context.Context, shard *delegator) (release func(), err error) {
	if q == nil {
		return func() {}, nil
	}
	q.mu.Lock()
	if q.free > 0 && len(q.waiting) == 0 {
		q.free--
		q.mu.Unlock()
		return q.release, nil
	}
	t := &loadTicket{shard: shard, ready: make(chan struct{})}
	q.waiting = append(q.waiting, t)
	q.mu.Unlock()
	select {
	case <-t.ready:
		return q.release, nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	granted := t.granted
	if !granted {
		q.removeLocked(t)
	}
	q.mu.Unlock()
	if granted {
		q.release() // granted as ctx ended: pass the slot on
	}
	return nil, fmt.Errorf("querynode: wait for a load slot: %w", ctx.Err())
}

// release gives a slot back, to the first waiting load if any.
func (q *loadQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		q.free++
		return
	}
	t := q.waiting[0]
	q.waiting = q.waiting[1:]
	if q.hurried > 0 {
		q.hurried--
	}
	t.granted = true
	close(t.ready)
}

// hurry moves shard's waiting load, if it has one, ahead of every load
// not hurried itself: a read is waiting for it.
func (q *loadQueue) hurry(shard *delegator) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.IndexFunc(q.waiting, func(t *loadTicket) bool { return t.shard == shard })
	if i < q.hurried { // not waiting, or already hurried
		return
	}
	t := q.waiting[i]
	q.waiting = slices.Delete(q.waiting, i, i+1)
	q.waiting = slices.Insert(q.waiting, q.hurried, t)
	q.hurried++
}

// queued reports how many loads wait for a slot (metrics, tests).
func (q *loadQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

// state reports the loads waiting for a slot, those holding one and the
// slots (metrics).
func (q *loadQueue) state() (queued, running, slots int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting), q.slots - q.free, q.slots
}

func (q *loadQueue) removeLocked(t *loadTicket) {
	i := slices.Index(q.waiting, t)
	if i < 0 {
		return
	}
	q.waiting = slices.Delete(q.waiting, i, i+1)
	if i < q.hurried {
		q.hurried--
	}
}
