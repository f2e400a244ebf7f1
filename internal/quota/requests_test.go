package quota

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// gathered is reg's RequestsMetric: each series' count by its node_id,
// msg_type and status labels.
func gathered(t *testing.T, reg *prometheus.Registry) map[[3]string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[3]string]float64{}
	for _, f := range fams {
		if f.GetName() != RequestsMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			var k [3]string
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "node_id":
					k[0] = lp.GetValue()
				case "msg_type":
					k[1] = lp.GetValue()
				case "status":
					k[2] = lp.GetValue()
				}
			}
			out[k] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestRequestsCounted: every decision is counted under the proxy's node ID
// and Milvus's rate type, as milvus_proxy_rate_limit_req_count: total,
// and fail or success; an upsert is a DMLInsert; the node ID is read at
// the decision (a cluster proxy's is known only once it registers); a
// second counter on the same registry (a proxy rebuilt in the process)
// adds to the first.
func TestRequestsCounted(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	node := int64(0)
	cfg := defaults()
	cfg.DMLEnabled = true
	cfg.Insert = Rates{Max: -1, DB: -1, Collection: 1, Partition: -1}
	cfg.ForceDenyReading = true
	cfg.Requests = NewRequests(reg, func() int64 { return node })
	l, _ := newTestLimiter(cfg)
	node = 42
	if err := l.Admit(ctx, Insert, 7, 2*mb); err != nil { // into debt
		t.Fatal(err)
	}
	if err := l.Admit(ctx, Upsert, 7, mb); err == nil {
		t.Fatal("an upsert past the collection's 1 MB/s was admitted")
	}
	if err := l.Admit(ctx, Search, 7, 1); err == nil {
		t.Fatal("a search with reading denied was admitted")
	}
	if err := l.Admit(ctx, Flush, 7, 1); err != nil {
		t.Fatal(err)
	}
	again := NewRequests(reg, func() int64 { return 42 })
	again.count(Insert, nil)

	want := map[[2]string]float64{
		{"DMLInsert", statusTotal}: 3, {"DMLInsert", statusSuccess}: 2, {"DMLInsert", statusFail}: 1,
		{"DQLSearch", statusTotal}: 1, {"DQLSearch", statusFail}: 1, {"DQLSearch", statusSuccess}: 0,
		{"DDLFlush", statusTotal}: 1, {"DDLFlush", statusSuccess}: 1, {"DDLFlush", statusFail}: 0,
	}
	got := gathered(t, reg)
	for k, n := range want {
		if got[[3]string{"42", k[0], k[1]}] != n {
			t.Errorf("%s{node_id=42,msg_type=%s,status=%s} = %v, want %v", RequestsMetric, k[0], k[1], got[[3]string{"42", k[0], k[1]}], n)
		}
	}
	for k := range got {
		if k[0] != "42" {
			t.Errorf("counted under another node ID: %v", k)
		}
	}
}

// TestRequestsOff: a limiter without a counter, or with quotaAndLimits
// off, counts nothing and still decides.
func TestRequestsOff(t *testing.T) {
	reg := prometheus.NewRegistry()
	req := NewRequests(reg, func() int64 { return 1 })
	cfg := defaults()
	cfg.Enabled = false
	cfg.Requests = req
	l, _ := newTestLimiter(cfg)
	if err := l.Admit(context.Background(), Insert, 1, mb); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg); len(got) != 0 {
		t.Fatalf("quotaAndLimits off: counted %v", got)
	}
	l2, _ := newTestLimiter(defaults())
	if err := l2.Admit(context.Background(), Flush, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := l2.Admit(context.Background(), Flush, 1, 1); err == nil {
		t.Fatal("no counter: the flush rate no longer binds")
	}
}
