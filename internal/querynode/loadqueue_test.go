package querynode

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// startLoad queues a load of shard and reports, on the returned channel,
// its release once it holds a slot.
func startLoad(t *testing.T, ctx context.Context, q *loadQueue, shard *delegator) <-chan func() {
	t.Helper()
	got := make(chan func(), 1)
	go func() {
		release, err := q.acquire(ctx, shard)
		if err == nil {
			got <- release
		}
	}()
	return got
}

// waitQueued waits until n loads wait for a slot.
func waitQueued(t *testing.T, q *loadQueue, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for q.queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d loads queued, want %d", q.queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func granted(t *testing.T, c <-chan func()) func() {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("load not granted a slot")
		return nil
	}
}

func notGranted(t *testing.T, c <-chan func()) {
	t.Helper()
	select {
	case <-c:
		t.Fatal("load granted a slot while all were in use")
	case <-time.After(20 * time.Millisecond):
	}
}

// Loads run at most n at a time, in arrival order, and a shard a read
// waits for (hurry) goes before those queued earlier, after those hurried
// before it.
func TestLoadQueueOrderAndHurry(t *testing.T) {
	ctx := context.Background()
	q := newLoadQueue(2)
	shards := make([]*delegator, 6)
	for i := range shards {
		shards[i] = &delegator{}
	}
	r0 := granted(t, startLoad(t, ctx, q, shards[0]))
	r1 := granted(t, startLoad(t, ctx, q, shards[1]))
	var waits []<-chan func()
	for i := 2; i < 6; i++ {
		waits = append(waits, startLoad(t, ctx, q, shards[i]))
		waitQueued(t, q, i-1) // arrival order is the order of the calls
	}
	notGranted(t, waits[0])
	q.hurry(shards[4])
	q.hurry(shards[3])
	q.hurry(shards[4]) // already hurried: keeps its place
	q.hurry(shards[0]) // loading, not queued: nothing to do
	// Order now: 4, 3, 2, 5.
	r0()
	r4 := granted(t, waits[2])
	notGranted(t, waits[1])
	r1()
	r3 := granted(t, waits[1])
	r4()
	r2 := granted(t, waits[0])
	notGranted(t, waits[3])
	r3()
	r5 := granted(t, waits[3])
	r2()
	r5()
	if n := q.queued(); n != 0 {
		t.Fatalf("%d loads still queued", n)
	}
	if q.free != 2 {
		t.Fatalf("%d free slots after every load ended, want 2", q.free)
	}
}

// A load whose context ends while it waits leaves the queue, and its
// turn passes to the next.
func TestLoadQueueCancelWhileQueued(t *testing.T) {
	q := newLoadQueue(1)
	a, b, c := &delegator{}, &delegator{}, &delegator{}
	ra, err := q.acquire(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := q.acquire(bctx, b)
		errc <- err
	}()
	waitQueued(t, q, 1)
	q.hurry(b)
	gotC := startLoad(t, context.Background(), q, c)
	waitQueued(t, q, 2)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v, want context.Canceled", err)
	}
	if q.hurried != 0 || q.queued() != 1 {
		t.Fatalf("after the cancel: %d hurried, %d queued; want 0 and 1", q.hurried, q.queued())
	}
	ra()
	granted(t, gotC)()
}

// Under contention, no more than n loads ever hold a slot and all run.
func TestLoadQueueBound(t *testing.T) {
	const slots, loads = 3, 40
	q := newLoadQueue(slots)
	var mu sync.Mutex
	running, peak, done := 0, 0, 0
	var wg sync.WaitGroup
	for range loads {
		shard := &delegator{}
		wg.Go(func() {
			release, err := q.acquire(context.Background(), shard)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			q.hurry(shard) // holding a slot: no effect
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			done++
			mu.Unlock()
			release()
		})
	}
	wg.Wait()
	if peak > slots || done != loads {
		t.Fatalf("peak %d concurrent loads (max %d), %d of %d done", peak, slots, done, loads)
	}
}
