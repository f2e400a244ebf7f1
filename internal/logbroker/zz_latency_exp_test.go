package logbroker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

func TestZZLatencyExperiment(t *testing.T) {
	e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	ctx := t.Context()
	delays := []time.Duration{0, 50 * time.Millisecond, 500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 12 * time.Second}
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ch := fmt.Sprintf("c%d", i)
			for j := 0; j < 3; j++ {
				l.Append(ctx, ch, []byte("x"), map[string]string{"a": "b"})
			}
			if i%3 == 1 {
				id, _ := l.Latest(ctx, ch)
				l.Truncate(ctx, ch, id)
			}
			after, _ := l.Latest(ctx, ch)
			if i%4 == 2 {
				after = 0
			}
			r, err := l.Read(ctx, ch, after)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			if after == 0 && i%3 != 1 {
				for j := 0; j < 3; j++ {
					r.Next(ctx)
				}
			}
			time.Sleep(delays[i%len(delays)])
			if i%2 == 0 {
				for j := 0; j < 3; j++ {
					l.Append(ctx, ch, []byte("z"), nil)
					r.Next(ctx)
				}
				id, _ := l.Latest(ctx, ch)
				if err := l.Truncate(ctx, ch, id); err != nil {
					t.Error(err)
				}
				time.Sleep(delays[(i+1)%len(delays)])
			}
			start := time.Now()
			l.Append(ctx, ch, []byte("y"), nil)
			cctx, cancel := context.WithTimeout(ctx, 40*time.Second)
			defer cancel()
			_, err = r.Next(cctx)
			t.Logf("%s delay %v: next after %v err %v", ch, delays[i%len(delays)], time.Since(start), err)
		}(i)
	}
	wg.Wait()
}
