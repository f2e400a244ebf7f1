package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestIdleLatency measures whether a request that ends a quiet period is
// slower than one of a busy server: the standalone sets a large timer
// slack once no request arrived for a few seconds (milvago.idleTimerSlack,
// internal/idleslack) and the first request puts the default back. It is
// opt-in and slow (a few minutes):
//
//	go build -o /tmp/milvago ./cmd/milvago
//	MILVAGO_IDLECPU_BIN=/tmp/milvago MILVAGO_IDLELAT=20 \
//	  go test -run TestIdleLatency -v -timeout 30m ./tests/e2e
//
// MILVAGO_IDLELAT is the number of searches and of inserts timed after a
// quiet gap of MILVAGO_IDLELAT_GAP seconds (default 7: longer than the 5 s
// after which the slack is set); as many of each are timed back to back
// (10 ms apart) on the busy server. MILVAGO_IDLECPU_ARGS adds flags, e.g.
// --milvago.idleTimerSlack=0 for the comparison without the slack. Before
// each request after a gap the test logs the timer slacks of the server's
// threads (/proc/TID/timerslack_ns).
func TestIdleLatency(t *testing.T) {
	bin, count := os.Getenv("MILVAGO_IDLECPU_BIN"), os.Getenv("MILVAGO_IDLELAT")
	if bin == "" || count == "" {
		t.Skip("set MILVAGO_IDLECPU_BIN=<milvago binary> and MILVAGO_IDLELAT=<requests after quiet gaps, e.g. 20>")
	}
	n, err := strconv.Atoi(count)
	must(t, err)
	gap := 7 * time.Second
	if s := os.Getenv("MILVAGO_IDLELAT_GAP"); s != "" {
		g, err := strconv.Atoi(s)
		must(t, err)
		gap = time.Duration(g) * time.Second
	}
	p := startBinary(t, bin)
	cli := p.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	createLoaded(t, ctx, cli, 1)
	const name, dim = "idle_0", 4
	r := rand.New(rand.NewPCG(3, 4))
	search := func() time.Duration {
		q := []entity.Vector{entity.FloatVector(randomVectors(r, 1, dim)[0])}
		start := time.Now()
		_, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, q).WithConsistencyLevel(entity.ClBounded))
		took := time.Since(start)
		must(t, err)
		return took
	}
	insert := func() time.Duration {
		row := map[string]any{"vector": randomVectors(r, 1, dim)[0]}
		start := time.Now()
		_, err := cli.Insert(ctx, milvusclient.NewRowBasedInsertOption(name, row))
		took := time.Since(start)
		must(t, err)
		return took
	}
	for range 20 { // warm up
		search()
		insert()
	}
	var busyS, busyI, idleS, idleI []time.Duration
	for range n {
		busyS = append(busyS, search())
		time.Sleep(10 * time.Millisecond)
		busyI = append(busyI, insert())
		time.Sleep(10 * time.Millisecond)
	}
	slacks := map[string]int{}
	for i := range 2 * n {
		time.Sleep(gap)
		slacks[threadSlacks(t, p.cmd.Process.Pid)]++
		if i%2 == 0 {
			idleS = append(idleS, search())
		} else {
			idleI = append(idleI, insert())
		}
	}
	t.Logf("IDLELAT args=%q gap=%v thread slacks before the requests after a gap: %v", os.Getenv("MILVAGO_IDLECPU_ARGS"), gap, slacks)
	for _, s := range []struct {
		what string
		d    []time.Duration
	}{{"search busy", busyS}, {"search after gap", idleS}, {"insert busy", busyI}, {"insert after gap", idleI}} {
		t.Logf("IDLELAT %-17s n=%d %s", s.what, len(s.d), percentiles(s.d))
	}
}

// percentiles formats p50, p90, p99 and max.
func percentiles(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("p50=%v p90=%v p99=%v max=%v", at(0.5).Round(10*time.Microsecond), at(0.9).Round(10*time.Microsecond),
		at(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

// threadSlacks sums up the timer slacks of pid's threads, e.g.
// "200000000x41".
func threadSlacks(t *testing.T, pid int) string {
	t.Helper()
	tids, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return "unknown"
	}
	count := map[string]int{}
	for _, tid := range tids {
		b, err := os.ReadFile(filepath.Join("/proc", tid.Name(), "timerslack_ns"))
		if err != nil {
			continue
		}
		count[strings.TrimSpace(string(b))]++
	}
	var out []string
	for v, c := range count {
		out = append(out, fmt.Sprintf("%sx%d", v, c))
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
