package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// quotaCenterMetrics is the JSON of Milvus's QuotaCenterMetrics, the part
// the test reads.
type quotaCenterMetrics struct {
	QueryNodeMetrics map[string]*struct {
		Hms struct {
			Memory      uint64 `json:"memory"`
			MemoryUsage uint64 `json:"memory_usage"`
		}
		Effect struct{ NodeID int64 }
	}
	DataNodeMetrics map[string]*struct {
		Hms struct {
			Memory      uint64 `json:"memory"`
			MemoryUsage uint64 `json:"memory_usage"`
		}
	}
	ProxyMetrics map[string]*struct {
		Hms struct {
			Memory      uint64 `json:"memory"`
			MemoryUsage uint64 `json:"memory_usage"`
		}
		QueueMetrics []any
	}
	DataCoordMetrics *struct {
		TotalBinlogSize      int64
		CollectionBinlogSize map[string]int64
	}
	QuotaStates struct {
		States []struct {
			Scope, State, Code string
			ID                 int64
		}
	}
}

// TestQuotaCenterDescribe: REST quotacenter/describe (the proxy's
// GetQuotaMetrics) answers the quota center's last sample as Milvus does,
// a JSON string in data: the proxy, data and query nodes with their
// memory, the binlog bytes per collection, and a collection over its disk
// quota denied writing. In cluster mode the proxy reads the sample from
// the root coordinator over the internal gRPC.
func TestQuotaCenterDescribe(t *testing.T) {
	// A cluster's configuration file has quotaAndLimits on, sampled every
	// 3 s; the in-process server is given the defaults with a short
	// interval.
	var configure func(*app.StandaloneConfig)
	if !clusterMode() {
		configure = quotaLimits(nil)
	}
	srv := startServerWith(t, "", configure)
	ctx := testContext(t)
	cli := srv.client(t)
	const dim, rows = 8, 2000
	createIDColl(t, ctx, cli, "capped", dim, map[string]string{"collection.diskProtection.diskQuota.mb": "0.01"})
	if _, err := cli.Insert(ctx, vectorRows("capped", "", 0, rows, dim)); err != nil {
		t.Fatal(err)
	}
	flush(t, ctx, cli, "capped")
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("capped"))
	if err != nil {
		t.Fatal(err)
	}
	var m quotaCenterMetrics
	var raw string
	denied := func() bool {
		return slices.ContainsFunc(m.QuotaStates.States, func(s struct {
			Scope, State, Code string
			ID                 int64
		}) bool {
			return s.Scope == "collection" && s.ID == coll.ID && s.State == "DenyToWrite" && s.Code == "DiskQuotaExhausted"
		})
	}
	eventually(t, 20*time.Second, "the sample shows the capped collection denied writing", func() (bool, string) {
		data := restOK(t, "http://"+srv.addr, "/quotacenter/describe", `{}`)
		s, ok := data.(string)
		if !ok {
			t.Fatalf("data is %T, want the metrics as a JSON string as Milvus sends", data)
		}
		raw = s
		m = quotaCenterMetrics{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("metrics: %v in %s", err, s)
		}
		return denied() && m.DataCoordMetrics != nil && m.DataCoordMetrics.CollectionBinlogSize[strconv.FormatInt(coll.ID, 10)] > 0, raw
	})
	t.Logf("sample: %s", raw)
	// The same refusal reaches the writer once its proxy has fetched the
	// verdict (every collect interval, apart from the sample's).
	eventually(t, 20*time.Second, "inserts into the capped collection refused", func() (bool, string) {
		_, err = cli.Insert(ctx, vectorRows("capped", "", rows, 1, dim))
		return err != nil, "insert accepted"
	})
	wantCode(t, err, 9, "disk quota exceeded")
	if len(m.ProxyMetrics) == 0 || len(m.DataNodeMetrics) == 0 || len(m.QueryNodeMetrics) == 0 {
		t.Fatalf("nodes missing: %d proxies, %d data nodes, %d query nodes: %s", len(m.ProxyMetrics), len(m.DataNodeMetrics), len(m.QueryNodeMetrics), raw)
	}
	if clusterMode() && len(m.ProxyMetrics) != 2 {
		t.Fatalf("%d proxies, want the cluster's 2: %s", len(m.ProxyMetrics), raw)
	}
	for id, p := range m.ProxyMetrics {
		if p.Hms.Memory == 0 || p.Hms.MemoryUsage == 0 || p.QueueMetrics == nil {
			t.Fatalf("proxy %s: %+v", id, p)
		}
	}
	for id, d := range m.DataNodeMetrics {
		if d.Hms.Memory == 0 || d.Hms.MemoryUsage == 0 {
			t.Fatalf("data node %s: %+v", id, d)
		}
	}
	for id, q := range m.QueryNodeMetrics {
		if q.Hms.Memory == 0 || q.Hms.MemoryUsage == 0 || fmt.Sprint(q.Effect.NodeID) != id {
			t.Fatalf("query node %s: %+v", id, q)
		}
	}
	if m.DataCoordMetrics.TotalBinlogSize < m.DataCoordMetrics.CollectionBinlogSize[strconv.FormatInt(coll.ID, 10)] {
		t.Fatalf("binlogs: %s", raw)
	}
}
