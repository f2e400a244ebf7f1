package querynode

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestLoadQueueMetrics (issue 11): a query node's /metrics shows its load
// queue: the loads holding a slot, those waiting for one, and the slots.
func TestLoadQueueMetrics(t *testing.T) {
	s := New(Deps{LoadConcurrency: 2})
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.LoadMetrics())
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer web.Close()
	scrape := func() map[string]string {
		t.Helper()
		resp, err := http.Get(web.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if name, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				out[name] = v
			}
		}
		return out
	}
	want := func(queued, running, slots string) {
		t.Helper()
		m := scrape()
		if m[LoadQueuedMetric] != queued || m[LoadRunningMetric] != running || m[LoadConcurrencyMetric] != slots {
			t.Fatalf("/metrics: queued %q running %q slots %q, want %s %s %s", m[LoadQueuedMetric], m[LoadRunningMetric],
				m[LoadConcurrencyMetric], queued, running, slots)
		}
	}
	want("0", "0", "2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := s.d.loads
	ra := granted(t, startLoad(t, ctx, q, &delegator{}))
	rb := granted(t, startLoad(t, ctx, q, &delegator{}))
	// c queues before d (each acquires in its own goroutine, so d could
	// otherwise arrive first and take the slot ra frees).
	c := startLoad(t, ctx, q, &delegator{})
	waitQueued(t, q, 1)
	d := startLoad(t, ctx, q, &delegator{})
	waitQueued(t, q, 2)
	want("2", "2", "2")
	ra()
	rc := granted(t, c)
	want("1", "2", "2")
	rb()
	rc()
	granted(t, d)()
	want("0", "0", "2")
}
