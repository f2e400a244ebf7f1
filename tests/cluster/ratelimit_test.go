//go:build linux

package cluster

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/quota"
)

// TestClusterInsertRateAcrossProxies (issue 8): a collection's insert
// rate (its collection.insertRate.max.mb property, 1 MB/s) holds for the
// cluster, not per proxy. Clients inserting as fast as they can through
// two proxies get at most the rate plus each proxy's burst (1 MB, a
// bucket's least) admitted, where two proxies each enforcing the whole
// rate admitted the rate twice; each proxy's refusal is Milvus's (code 8)
// and names its share, [rate=0.5], as Milvus's proxies report the rate
// the quota center sent them. Each proxy counts its decisions under its
// own node ID in milvago_proxy_rate_limit_req_count (Milvus's
// milvus_proxy_rate_limit_req_count), exactly the calls the clients saw
// admitted and refused through it.
func TestClusterInsertRateAcrossProxies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1,
		args: []string{"--quotaAndLimits.dml.enabled=true"}},
		"mixcoord", "streamingnode", "datanode", "proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	proxies := []string{"proxy-1", "proxy-2"}
	clis := []*milvusclient.Client{connect(t, ctx, c.ProxyAddr(proxies[0])), connect(t, ctx, c.ProxyAddr(proxies[1]))}

	const (
		name     = "rated"
		vdim     = 128
		rows     = 512              // a batch: 256 KiB of vectors
		rateMB   = 1.0              // the collection's insert rate, MB/s
		window   = 6 * time.Second  // how long the clients insert
		perProxy = 4                // clients inserting through each proxy
		mbytes   = float64(1 << 20) // bytes in a MB of the rates
	)
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(vdim))
	if err := clis[0].CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).
		WithProperty("collection.insertRate.max.mb", fmt.Sprint(rateMB))); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	r := rand.New(rand.NewPCG(3, 8))
	vecs := make([][]float32, rows)
	for i := range vecs {
		vecs[i] = make([]float32, vdim)
		for j := range vecs[i] {
			vecs[i][j] = r.Float32()
		}
	}
	// The batch's size as the proxy counts it is at least its vectors'.
	batchMB := float64(rows*vdim*4) / mbytes
	var (
		mu      sync.Mutex
		nextID  int64
		ok, ref [2]int // admitted and refused, by proxy
	)
	// insert sends one batch through proxy p: nil when admitted, the
	// refusal (code 8) when refused; any other error fails the test.
	insert := func(p int) error {
		mu.Lock()
		from := nextID
		nextID += rows
		mu.Unlock()
		ids := make([]int64, rows)
		for i := range ids {
			ids[i] = from + int64(i)
		}
		_, err := clis[p].Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
			WithInt64Column("id", ids).WithFloatVectorColumn("v", vdim, vecs))
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			ok[p]++
			return nil
		}
		if !strings.Contains(err.Error(), "rate limit exceeded") {
			t.Errorf("insert through %s: %v", proxies[p], err)
			return err
		}
		ref[p]++
		return err
	}
	// Each proxy refuses with its share once the quota center has counted
	// both (a proxy's start asks it once; the first one learns of the
	// second at its next fetch, every quotaCenterCollectInterval).
	const wantText = "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded[rate=0.5]"
	for p := range proxies {
		// Not fatal: past the deadline the measurement below still shows
		// how much the proxies admit.
		var last error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
			if err := insert(p); err != nil {
				if last = err; merr.Code(err) == 8 && strings.HasSuffix(err.Error(), wantText) {
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
		if last == nil || merr.Code(last) != 8 || !strings.HasSuffix(last.Error(), wantText) {
			t.Errorf("%s refused with %v (code %d), want %q (code 8)", proxies[p], last, merr.Code(last), wantText)
		}
	}
	// Let both buckets refill (1 MB at 0.5 MB/s), then insert as fast as
	// the clients can through both proxies for the window.
	time.Sleep(2500 * time.Millisecond)
	mu.Lock()
	okBefore := ok
	mu.Unlock()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range proxies {
		for range perProxy {
			wg.Go(func() {
				for time.Since(start) < window && ctx.Err() == nil {
					if err := insert(p); err != nil && merr.Code(err) != 8 {
						return // counted as failed by insert
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	mu.Lock()
	admitted := float64(ok[0]-okBefore[0]+ok[1]-okBefore[1]) * batchMB
	mu.Unlock()
	// Shared: the rate over the window plus one burst per proxy (1 MB
	// each), with a tenth of slack. Not shared, each proxy admitted the
	// whole rate plus its burst: 14 MB in 6 s, where shared is 8.
	limit := 1.1 * (rateMB*elapsed + 2*1)
	t.Logf("admitted %.1f MB in %.1f s through two proxies (%d and %d batches of %.2f MB; %d and %d refused); the cluster's limit %.1f MB",
		admitted, elapsed, ok[0]-okBefore[0], ok[1]-okBefore[1], batchMB, ref[0], ref[1], limit)
	if admitted > limit {
		t.Errorf("admitted %.1f MB in %.1f s at %.0f MB/s for the cluster: more than %.1f MB, the proxies each enforce the whole rate", admitted, elapsed, rateMB, limit)
	}
	if admitted < 0.5*rateMB*elapsed {
		t.Errorf("admitted %.1f MB in %.1f s at %.0f MB/s: under half the rate (a proxy holds a smaller share than 1/2?)", admitted, elapsed, rateMB)
	}

	// Each proxy's own count of its decisions, under its node ID.
	nodes := map[string]bool{}
	for p, proxy := range proxies {
		node, counts := insertDecisions(t, c, proxy)
		nodes[node] = true
		mu.Lock()
		want := map[string]int{"total": ok[p] + ref[p], "success": ok[p], "fail": ref[p]}
		mu.Unlock()
		for status, n := range want {
			if counts[status] != float64(n) {
				t.Errorf("%s: %s{node_id=%q,msg_type=\"DMLInsert\",status=%q} = %v, want %d (the calls the clients saw)",
					proxy, quota.RequestsMetric, node, status, counts[status], n)
			}
		}
	}
	if len(nodes) != 2 {
		t.Errorf("the proxies count under node IDs %v, want one each", nodes)
	}
}

var decisionLine = regexp.MustCompile(`^` + quota.RequestsMetric + `\{msg_type="DMLInsert",node_id="(\d+)",status="(\w+)"\} (\S+)$`)

// insertDecisions reads a proxy's count of its insert decisions from its
// /metrics: its node ID and the count by status.
func insertDecisions(t *testing.T, c *cluster, proxy string) (string, map[string]float64) {
	t.Helper()
	resp, err := http.Get(c.MetricsURL(proxy) + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", proxy, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s, %v", proxy, resp.Status, err)
	}
	node, counts := "", map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		m := decisionLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if node != "" && node != m[1] {
			t.Fatalf("%s counts under two node IDs, %s and %s", proxy, node, m[1])
		}
		node = m[1]
		if counts[m[2]], err = strconv.ParseFloat(m[3], 64); err != nil {
			t.Fatalf("scrape %s: %q: %v", proxy, line, err)
		}
	}
	if node == "" {
		t.Fatalf("%s exports no %s for DMLInsert", proxy, quota.RequestsMetric)
	}
	return node, counts
}
