package memtrim

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestPacerLimitFollowsLiveHeap: after each collection the limit is the
// live heap plus the headroom (and what the runtime holds besides the
// heap); it grows with the live heap and the default headroom, an eighth
// of it, and is removed by Stop.
func TestPacerLimitFollowsLiveHeap(t *testing.T) {
	p := NewPacer(PacerConfig{MinHeadroomBytes: 8 << 20})
	var mu sync.Mutex
	var limits []int64
	p.set = func(l int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		limits = append(limits, l)
		return 0
	}
	last := func() (int64, int) {
		mu.Lock()
		defer mu.Unlock()
		return limits[len(limits)-1], len(limits)
	}
	p.Start()
	defer p.Stop()
	runtime.GC()
	small, _ := last()

	live := make([][]byte, 0, 256)
	for range 256 {
		live = append(live, make([]byte, 1<<20))
	}
	_, n := last()
	runtime.GC()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, m := last(); m > n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no limit set after a collection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	big, _ := last()
	// 256 MiB more live: the limit grows by it and an eighth of it (32
	// MiB, less the 8 MiB minimum the small heap had), give or take what
	// the runtime holds besides the heap. The former default, a quarter,
	// grew it by 312 MiB.
	if grew := big - small; grew < 256<<20+16<<20 || grew > 256<<20+48<<20 {
		t.Fatalf("limit grew by %d MiB for 256 MiB of live heap (from %d to %d MiB)", grew>>20, small>>20, big>>20)
	}
	runtime.KeepAlive(live)
	p.Stop()
	if l, _ := last(); l != math.MaxInt64 {
		t.Fatalf("Stop left the limit at %d", l)
	}
	if p.Update() {
		t.Fatal("Update after Stop set a limit")
	}
}

func TestPacerKeepsOperatorLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	p := NewPacer(PacerConfig{})
	called := false
	p.set = func(int64) int64 { called = true; return 0 }
	p.Start()
	p.Stop()
	if called {
		t.Fatal("the pacer changed the limit although GOMEMLIMIT is set")
	}
}

func TestSharedPacer(t *testing.T) {
	r1 := acquirePacer(PacerConfig{})
	r2 := acquirePacer(PacerConfig{})
	p := shared.p
	r1()
	r1() // a second release of the same user is a no-op
	if shared.p != p || shared.users != 1 {
		t.Fatalf("pacer stopped while a user remains (users %d)", shared.users)
	}
	r2()
	if shared.p != nil || shared.users != 0 {
		t.Fatal("last release did not stop the pacer")
	}
}
