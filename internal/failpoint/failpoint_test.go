package failpoint

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	s, err := Parse(" a.b/c=2*sleep(30ms); d=sleep(1ms) ;", nil)
	if err != nil {
		t.Fatal(err)
	}
	names := s.Names()
	slices.Sort(names)
	if !slices.Equal(names, []string{"a.b/c", "d"}) {
		t.Fatalf("names %v", names)
	}
	for _, bad := range []string{"x", "=sleep(1s)", "x=sleep(1s", "x=nap(1s)", "x=0*sleep(1s)", "x=sleep(-1s)", "x=sleep(soon)"} {
		if _, err := Parse(bad, nil); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if s, err := Parse("  ", nil); s != nil || err != nil {
		t.Fatalf("empty spec: %v, %v; want none armed", s, err)
	}
}

// TestHit: an armed failpoint sleeps for its first N hits only; others and
// a nil Set do nothing.
func TestHit(t *testing.T) {
	s, err := Parse("p=2*sleep(40ms)", nil)
	if err != nil {
		t.Fatal(err)
	}
	took := func(name string) time.Duration {
		start := time.Now()
		s.Hit(context.Background(), name)
		return time.Since(start)
	}
	for i := range 2 {
		if d := took("p"); d < 40*time.Millisecond {
			t.Fatalf("hit %d slept %v, want 40ms", i+1, d)
		}
	}
	if d := took("p"); d > 20*time.Millisecond {
		t.Fatalf("third hit slept %v, want none", d)
	}
	if d := took("other"); d > 20*time.Millisecond {
		t.Fatalf("unarmed failpoint slept %v", d)
	}
	var none *Set
	none.Hit(context.Background(), "p")
}
