package logbroker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// TestNATSReaderWakesAfterIdle: a reader of the embedded JetStream log
// that idled (past the pull heartbeat of 5 s and the 10 s after which a
// missed heartbeat resets the consumer), opened at the end of a channel,
// at its truncation point, or having read up to a truncation, returns a
// new append at once, not when its pull request expires 30 s later (the
// suspected cause of issue 11's "first query after a load waits 31 s").
func TestNATSReaderWakesAfterIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for 11 s")
	}
	e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	ctx := t.Context()
	const bound = 2 * time.Second
	idles := []time.Duration{0, 50 * time.Millisecond, 500 * time.Millisecond, 6 * time.Second, 11 * time.Second}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ch := fmt.Sprintf("idle_%d", i)
			idle := idles[i%len(idles)]
			for range 3 {
				if _, err := l.Append(ctx, ch, []byte("x"), map[string]string{"k": "v"}); err != nil {
					t.Error(err)
					return
				}
			}
			truncated := i%4 == 1
			if truncated {
				last, _ := l.Latest(ctx, ch)
				if err := l.Truncate(ctx, ch, last); err != nil {
					t.Error(err)
					return
				}
			}
			after, err := l.Latest(ctx, ch)
			if err != nil {
				t.Error(err)
				return
			}
			if i%4 == 2 {
				after = 0 // from the oldest retained message
			}
			r, err := l.Read(ctx, ch, after)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			if after == 0 {
				for range 3 {
					if _, err := r.Next(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if i%4 == 3 { // read up to a truncation, then idle
				if _, err := l.Append(ctx, ch, []byte("y"), nil); err != nil {
					t.Error(err)
					return
				}
				m, err := r.Next(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if err := l.Truncate(ctx, ch, m.ID); err != nil {
					t.Error(err)
					return
				}
			}
			time.Sleep(idle)
			start := time.Now()
			id, err := l.Append(ctx, ch, []byte("z"), nil)
			if err != nil {
				t.Error(err)
				return
			}
			nctx, cancel := context.WithTimeout(ctx, 40*time.Second)
			defer cancel()
			m, err := r.Next(nctx)
			if d := time.Since(start); err != nil || m.ID != id || d > bound {
				t.Errorf("%s after %v idle (truncated %v): next = %d, %v after %v; want %d within %v", ch, idle, truncated, m.ID, err, d, id, bound)
			}
		})
	}
	wg.Wait()
}
