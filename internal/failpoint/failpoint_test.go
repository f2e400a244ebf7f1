package failpoint

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
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
	hit := false
	took := func(name string) time.Duration {
		start := time.Now()
		hit = s.Hit(context.Background(), name)
		return time.Since(start)
	}
	for i := range 2 {
		if d := took("p"); d < 40*time.Millisecond || !hit {
			t.Fatalf("hit %d slept %v, want 40ms", i+1, d)
		}
	}
	if d := took("p"); d > 20*time.Millisecond || hit {
		t.Fatalf("third hit slept %v (reported %v), want none", d, hit)
	}
	if d := took("other"); d > 20*time.Millisecond || hit {
		t.Fatalf("unarmed failpoint slept %v (reported %v)", d, hit)
	}
	var none *Set
	if none.Hit(context.Background(), "p") {
		t.Fatal("a nil Set reported a hit")
	}
	none.Served(context.Background(), "p", nil)
}

// TestServedLogs: the end of a held step is logged with its error, which
// is what a test that held a call reads.
func TestServedLogs(t *testing.T) {
	var buf bytes.Buffer
	s, err := Parse("p=1*sleep(1ms)", slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Hit(context.Background(), "p", "caller", 7) {
		t.Fatal("armed failpoint not hit")
	}
	s.Served(context.Background(), "p", errors.New("channel misrouted"), "caller", 7)
	s.Served(context.Background(), "p", nil, "caller", 8)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("log:\n%s", buf.String())
	}
	for i, want := range []string{
		`msg="failpoint call served" failpoint=p caller=7 err="channel misrouted"`,
		`msg="failpoint call served" failpoint=p caller=8`,
	} {
		if !strings.HasSuffix(lines[2+i], want) {
			t.Fatalf("line %d %q, want it to end with %q", 2+i, lines[2+i], want)
		}
	}
}

// TestFail: an error(TEXT) point fails its first N steps with TEXT
// (ErrInjected) and then lets them run; Hit passes it by; a sleep point
// at a Fail holds and succeeds.
func TestFail(t *testing.T) {
	s, err := Parse("e=2*error(disk full);w=1*sleep(30ms)", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if s.Hit(ctx, "e") {
		t.Fatal("Hit acted on an error point")
	}
	for i := range 2 {
		err := s.Fail(ctx, "e")
		if !errors.Is(err, ErrInjected) || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "e") {
			t.Fatalf("fail %d: %v, want the injected error", i+1, err)
		}
	}
	if err := s.Fail(ctx, "e"); err != nil {
		t.Fatalf("third step: %v, want none (2 hits)", err)
	}
	start := time.Now()
	if err := s.Fail(ctx, "w"); err != nil || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("sleep point at Fail: %v after %v, want nil after 30ms", err, time.Since(start))
	}
	var none *Set
	if err := none.Fail(ctx, "e"); err != nil {
		t.Fatalf("nil Set: %v", err)
	}
	for _, bad := range []string{"x=error()", "x=error(a", "x=0*error(a)"} {
		if _, err := Parse(bad, nil); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
