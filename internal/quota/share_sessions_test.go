package quota

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestShareFollowsProxySessions: the share of every rate follows the
// proxies' sessions (SetProxies, fed by a session watch) as they join and
// leave, at the proxy's next request, with no fetch from the quota center
// (whose count is no longer taken once the sessions are followed); the
// burst is the share (one second of it), as Milvus's proxies set it.
func TestShareFollowsProxySessions(t *testing.T) {
	ctx := context.Background()
	live := &counted{n: 1} // the center's count, behind the sessions
	cfg := defaults()
	cfg.Source = NewCenter(CenterConfig{Proxies: live}, nil)
	cfg.DQLEnabled = true
	cfg.Search = Rates{Max: -1, DB: -1, Collection: 12, Partition: -1}
	l, c := newTestLimiter(cfg)
	l.Sample(ctx)
	l.SetProxies(3)
	if l.Proxies() != 3 {
		t.Fatalf("three sessions: limiter shares with %d", l.Proxies())
	}
	coll := Scope{Collection: 7}
	// admits takes the bucket's whole burst in one-vector requests and
	// reports how many passed and the refusal that ended them.
	admits := func() (int, error) {
		for n := 0; n < 100; n++ {
			if err := l.AdmitIn(ctx, Search, coll, 1); err != nil {
				return n, err
			}
		}
		t.Fatal("no refusal after 100 vectors in an instant")
		return 0, nil
	}
	wantBurst := func(what string, n int, rate string) {
		t.Helper()
		got, err := admits()
		if got != n || !strings.HasSuffix(err.Error(), "[rate="+rate+"]") {
			t.Fatalf("%s: %d vectors admitted at once, then %v; want %d, then [rate=%s]", what, got, err, n, rate)
		}
	}
	// 12 vectors/s over three proxies: 4/s here, and a burst of 4, not 12
	// (a full bucket admits its burst and one request more, into debt, as
	// Milvus's limiter admits while its tokens are not negative).
	wantBurst("three proxies", 5, "4")
	c.t = c.t.Add(250 * time.Millisecond)
	wantBurst("a quarter second later", 1, "4")

	// One leaves: the share is 6 at the next request, the debt-free
	// bucket refills to 6.
	l.SetProxies(2)
	c.t = c.t.Add(time.Minute)
	wantBurst("two proxies", 7, "6")
	// The center (one proxy, behind the sessions) does not override it.
	l.Sample(ctx)
	if l.Proxies() != 2 {
		t.Fatalf("after a fetch from a center counting 1: %d proxies, want 2", l.Proxies())
	}
	// A proxy joins: three.
	l.SetProxies(3)
	if l.Proxies() != 3 {
		t.Fatalf("a third proxy joined: %d, want 3", l.Proxies())
	}
	c.t = c.t.Add(time.Minute)
	wantBurst("three proxies again", 5, "4")
	// A full bucket stays full across a share change: 4 of 4 at 3
	// proxies is 6 of 6 at 2.
	c.t = c.t.Add(time.Minute)
	l.SetProxies(2)
	wantBurst("full bucket, the share raised", 7, "6")
	// A listing without any session (this proxy's own not yet in it)
	// leaves the share.
	l.SetProxies(0)
	if l.Proxies() != 2 {
		t.Fatalf("empty listing: %d, want the last 2", l.Proxies())
	}
}

// TestBurstSplitAmongProxies: N proxies inserting as fast as they can into
// one collection admit at most the rate over the time plus one burst of
// the whole rate in all (each proxy's burst is its share), where a burst
// of at least 1 MB per proxy would admit N MB more. Four proxies, 1 MB/s,
// 64 KiB inserts every 10 ms through each for 10 s of a fake clock.
func TestBurstSplitAmongProxies(t *testing.T) {
	ctx := context.Background()
	cfg := defaults()
	cfg.DMLEnabled = true
	cfg.Insert = Rates{Max: -1, DB: -1, Collection: 1, Partition: -1}
	clk := &clock{t: time.Unix(1000, 0)}
	var proxies []*Limiter
	for range 4 {
		l := New(cfg, nil)
		l.now = clk.now
		l.SetProxies(4)
		proxies = append(proxies, l)
	}
	const batch = 64 << 10
	admitted := 0
	const steps = 1000 // 10 ms each
	for range steps {
		for _, l := range proxies {
			if l.AdmitIn(ctx, Insert, Scope{Collection: 5}, batch) == nil {
				admitted += batch
			}
		}
		clk.t = clk.t.Add(10 * time.Millisecond)
	}
	got := float64(admitted) / mb
	// 10 s at 1 MB/s, plus the bursts: 4 x 0.25 MB.
	if got > 11 || got < 9.5 {
		t.Fatalf("four proxies admitted %.2f MB in 10 s at 1 MB/s: want between 9.5 and 11 (rate x time + one 1 MB burst in all)", got)
	}
}

// TestAwaitProxiesRefusesUntilCounted: after AwaitProxies, a request a
// rate applies to is refused until SetProxies counts the proxies, even
// once the quota center has reported its count (it is not taken as the
// listing); an empty count leaves it refusing; then the share applies.
func TestAwaitProxiesRefusesUntilCounted(t *testing.T) {
	ctx := context.Background()
	cfg := defaults()
	cfg.Source = NewCenter(CenterConfig{Proxies: &counted{n: 1}}, nil)
	cfg.DQLEnabled = true
	cfg.Search = Rates{Max: -1, DB: -1, Collection: 12, Partition: -1}
	l, _ := newTestLimiter(cfg)
	l.AwaitProxies()
	l.Sample(ctx)
	l.SetProxies(0)
	coll := Scope{Collection: 7}
	if err := l.AdmitIn(ctx, Search, coll, 1); err == nil || !strings.HasSuffix(err.Error(), "rate limit exceeded[rate=0]") {
		t.Fatalf("a search before the proxies are counted: %v", err)
	}
	if err := l.AdmitIn(ctx, Query, coll, 1); err != nil {
		t.Fatalf("a query, under no rate: %v", err)
	}
	l.SetProxies(3)
	for i := range 5 {
		if err := l.AdmitIn(ctx, Search, coll, 1); err != nil {
			t.Fatalf("vector %d of a share of 4 (and one more, into debt): %v", i, err)
		}
	}
	if err := l.AdmitIn(ctx, Search, coll, 1); err == nil || !strings.HasSuffix(err.Error(), "[rate=4]") {
		t.Fatalf("a sixth vector at once: %v", err)
	}
}
