package streaming

import (
	"context"
	"errors"
	"testing"
)

// TestLogEndIsTheLastAcknowledgedAppend: LogEnd reports the timestamp of
// the last message the log acknowledged on the channel; a failed append
// (a tick the full log refused) does not move it, and other channels have
// their own.
func TestLogEndIsTheLastAcknowledgedAppend(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Default(), 100)
	fl := &flakyLog{Log: e.log}
	w := New(Default(), Deps{Log: fl, TSO: e.root, Segments: e.data})
	if ts, err := w.LogEnd(ctx, pch); err != nil || ts != 0 {
		t.Fatalf("before any append: %d, %v", ts, err)
	}
	r, err := w.AppendInsert(ctx, pch, insertOf(1, 10, pch+"_1v0", 3))
	if err != nil {
		t.Fatal(err)
	}
	if ts, _ := w.LogEnd(ctx, pch); ts != r.TS {
		t.Fatalf("after an insert: %d, want its timestamp %d", ts, r.TS)
	}
	fl.failing.Store(1)
	if err := w.SyncTo(ctx, pch, r.TS+1); !errors.Is(err, errFlaky) {
		t.Fatalf("tick on a failing log: %v", err)
	}
	if ts, _ := w.LogEnd(ctx, pch); ts != r.TS {
		t.Fatalf("after a refused tick: %d, want %d", ts, r.TS)
	}
	if err := w.SyncTo(ctx, pch, r.TS+1); err != nil {
		t.Fatal(err)
	}
	if ts, _ := w.LogEnd(ctx, pch); ts <= r.TS {
		t.Fatalf("after a tick: %d, want above %d", ts, r.TS)
	}
	if ts, _ := w.LogEnd(ctx, pch+"x"); ts != 0 {
		t.Fatalf("another channel: %d", ts)
	}
}
