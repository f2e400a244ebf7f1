package idleslack

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadSlacks reads /proc/TID/timerslack_ns of every thread in
// /proc/self/task.
func threadSlacks(t *testing.T) map[string]time.Duration {
	t.Helper()
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skipf("no /proc/self/task: %v", err)
	}
	out := map[string]time.Duration{}
	for _, tid := range tids {
		p := filepath.Join("/proc", tid.Name(), "timerslack_ns")
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread exited
			}
			t.Skipf("cannot read %s: %v", p, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[tid.Name()] = time.Duration(n)
	}
	return out
}

// TestSystemSetterChangesEveryThread sets the slack of the test process
// and reads every thread's back from /proc.
func TestSystemSetterChangesEveryThread(t *testing.T) {
	s := newSystemSetter()
	orig, err := s.Get()
	if err != nil {
		t.Fatal(err)
	}
	const odd = 123457 * time.Nanosecond
	if err := s.Set(odd); err != nil {
		if errors.Is(err, ErrUnsupported) {
			t.Skipf("cannot set other threads' slack here (no CAP_SYS_NICE?): %v", err)
		}
		t.Fatal(err)
	}
	defer s.Set(orig)
	if got, err := s.Get(); err != nil || got != odd {
		t.Fatalf("Get = %v, %v; want %v", got, err, odd)
	}
	slacks := threadSlacks(t)
	if len(slacks) < 2 {
		t.Logf("only %d thread(s)", len(slacks))
	}
	for tid, d := range slacks {
		if d != odd {
			t.Errorf("thread %s: slack %v, want %v", tid, d, odd)
		}
	}
	if err := s.Set(orig); err != nil {
		t.Fatal(err)
	}
	for tid, d := range threadSlacks(t) {
		if d != orig {
			t.Errorf("thread %s: slack %v after the restore, want %v", tid, d, orig)
		}
	}
}

// BenchmarkSystemSet is the cost of one switch (a /proc write per thread).
func BenchmarkSystemSet(b *testing.B) {
	s := newSystemSetter()
	orig, err := s.Get()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Set(orig)
	for i := 0; b.Loop(); i++ {
		d := orig
		if i%2 == 0 {
			d = 100 * time.Millisecond
		}
		if err := s.Set(d); err != nil {
			b.Skip(err)
		}
	}
}
