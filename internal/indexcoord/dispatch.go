package indexcoord

import (
	"context"
	"sync"
)

// dispatch runs run(id) for each ID received from queue until ctx ends,
// as many at once as slots says (at least one; nil: one at a time), and
// never the same ID twice at once. It returns when ctx ends and every run
// it started has returned. Builds and analyze tasks share it.
func dispatch(ctx context.Context, queue <-chan int64, slots func() int, run func(ctx context.Context, id int64)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan int64)
	inflight := map[int64]bool{}
	for {
		limit := 1
		if slots != nil {
			limit = max(1, slots())
		}
		next := queue
		if len(inflight) >= limit {
			next = nil // wait for a run to finish
		}
		select {
		case <-ctx.Done():
			return
		case id := <-done:
			delete(inflight, id)
		case id := <-next:
			if inflight[id] {
				continue
			}
			inflight[id] = true
			wg.Go(func() {
				run(ctx, id)
				select {
				case done <- id:
				case <-ctx.Done():
				}
			})
		}
	}
}
