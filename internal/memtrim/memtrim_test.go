package memtrim

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// sink keeps the test's allocation alive until it is meant to die.
var sink [][]byte

func TestCheckReleasesLargeFreedHeap(t *testing.T) {
	// Keep the GC from running on its own while the garbage is made, so
	// the freed memory is still held when Check looks.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	tr := New(Config{MinFreeBytes: 16 << 20}, nil)
	released := 0
	tr.release = func() { released++; debug.FreeOSMemory() }

	tr.Check()
	released = 0
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	runtime.GC() // the 64 MiB are now free but still held by the runtime
	if !tr.Check() || released != 1 {
		t.Fatalf("64 MiB freed: Check did not release (released=%d)", released)
	}
	if tr.Check() {
		t.Fatal("second Check released again with nothing freed in between")
	}
}

func TestCheckLeavesSmallHeapAlone(t *testing.T) {
	tr := New(Config{MinFreeBytes: 1 << 40}, nil)
	tr.release = func() { t.Fatal("released below MinFreeBytes") }
	if tr.Check() {
		t.Fatal("Check reported a release")
	}
}

func TestRunStopsWithContext(t *testing.T) {
	tr := New(Config{Interval: time.Millisecond, MinFreeBytes: 1 << 40}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
