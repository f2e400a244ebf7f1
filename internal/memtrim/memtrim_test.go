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

// makeGarbage allocates and drops n MiB.
func makeGarbage(n int) {
	for range n {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
}

func TestCheckReleasesGarbageOnceQuiet(t *testing.T) {
	// Keep the GC from running on its own while the garbage is made, so
	// it is still uncollected when Check looks (a quiet server's state).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	tr := New(Config{MinFreeBytes: 16 << 20, QuietBytes: 32 << 20}, nil)
	released := 0
	tr.release = func() { released++; debug.FreeOSMemory() }
	runtime.GC()
	tr.Check()
	released = 0

	makeGarbage(64)
	if tr.Check() {
		t.Fatal("released while the process was allocating (64 MiB since the last check)")
	}
	if !tr.Check() || released != 1 {
		t.Fatalf("quiet with 64 MiB of garbage: Check did not release (released=%d)", released)
	}
	if !tr.Check() || released != 2 {
		t.Fatalf("no settling pass after a trim (released=%d)", released)
	}
	if tr.Check() {
		t.Fatal("released a third time with nothing freed in between")
	}

	// Memory a GC already freed but the runtime still holds counts too.
	makeGarbage(64)
	runtime.GC()
	tr.Check() // the allocation window
	if !tr.Check() {
		t.Fatal("quiet with 64 MiB freed and held: Check did not release")
	}
	tr.Check() // settling pass

	// A busy check cancels the settling pass.
	makeGarbage(64)
	tr.Check() // busy
	released = 0
	tr.Check() // quiet, trims
	makeGarbage(64)
	tr.Check() // busy again: no settling pass
	if released != 1 {
		t.Fatalf("released %d times, want 1", released)
	}
}

func TestCheckLeavesSmallHeapAlone(t *testing.T) {
	tr := New(Config{MinFreeBytes: 1 << 40}, nil)
	tr.release = func() { t.Fatal("released below MinFreeBytes") }
	tr.Check()
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
