package coordrpc_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/sysinfo"
)

type fixedStates struct {
	s   *quota.States
	m   *contract.QuotaCenterMetrics
	err error
}

func (f fixedStates) QuotaStates(context.Context) (*quota.States, error) { return f.s, f.err }

func (f fixedStates) QuotaMetrics(context.Context) (*contract.QuotaCenterMetrics, error) {
	return f.m, f.err
}

// TestQuotaMetricsRoundTrip: a proxy receives the quota center's last
// sample as the center keeps it (carried as Milvus's JSON), and the
// center's error as a Milvus error.
func TestQuotaMetricsRoundTrip(t *testing.T) {
	want := contract.NewQuotaCenterMetrics()
	want.ProxyMetrics[5] = &contract.ProxyQuotaMetrics{Hms: sysinfo.HardwareMetrics{IP: "10.0.0.5", Memory: 100, MemoryUsage: 40},
		Rms: []contract.RateMetric{}, QueueMetrics: []contract.TaskQueueMetrics{}}
	want.DataNodeMetrics[2] = &contract.DataNodeQuotaMetrics{Hms: sysinfo.HardwareMetrics{Memory: 100, MemoryUsage: 10},
		Rms: []contract.RateMetric{}, Effect: contract.NodeEffect{NodeID: 2, CollectionIDs: []int64{7}}}
	want.DataCoordMetrics = &contract.DataCoordQuotaMetrics{TotalBinlogSize: 9, CollectionBinlogSize: map[int64]int64{7: 9},
		PartitionsBinlogSize: map[int64]map[int64]int64{7: {71: 9}}, CollectionL0RowCount: map[int64]int64{}}
	want.QuotaStates.States = []contract.QuotaState{{Scope: "collection", ID: 7, State: "DenyToWrite", Code: "DiskQuotaExhausted"}}
	conn := serve(t, func(g *grpc.Server) { coordrpc.RegisterQuotaCenter(g, fixedStates{m: want}) })
	got, err := coordrpc.NewQuotaCenterClient(conn).QuotaMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	failing := serve(t, func(g *grpc.Server) {
		coordrpc.RegisterQuotaCenter(g, fixedStates{err: errs.ErrServiceNotReady})
	})
	if _, err := coordrpc.NewQuotaCenterClient(failing).QuotaMetrics(context.Background()); !errors.Is(err, errs.ErrServiceNotReady) {
		t.Fatalf("center error: %v", err)
	}
}

// TestQuotaStatesRoundTrip: a proxy's client receives the quota center's
// verdict as the center keeps it, and the center's error as a Milvus
// error.
func TestQuotaStatesRoundTrip(t *testing.T) {
	want := &quota.States{MemoryAll: true, Memory: map[int64]bool{7: true, 9: true}, Factor: 0.5,
		Factors: map[int64]float64{3: 0.25}, DiskAll: "cluster disk quota exceeded",
		DiskDBs: map[string]bool{"d": true}, DiskCollections: map[int64]bool{4: true}, DiskPartitions: map[int64]bool{41: true}, Proxies: 2}
	conn := serve(t, func(g *grpc.Server) { coordrpc.RegisterQuotaCenter(g, fixedStates{s: want}) })
	got, err := coordrpc.NewQuotaCenterClient(conn).QuotaStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	empty := serve(t, func(g *grpc.Server) { coordrpc.RegisterQuotaCenter(g, fixedStates{s: &quota.States{}}) })
	if got, err := coordrpc.NewQuotaCenterClient(empty).QuotaStates(context.Background()); err != nil || got.MemoryAll || got.Memory != nil || got.DiskAll != "" {
		t.Fatalf("empty states: %+v, %v", got, err)
	}
	failing := serve(t, func(g *grpc.Server) {
		coordrpc.RegisterQuotaCenter(g, fixedStates{err: errs.ErrServiceNotReady})
	})
	if _, err := coordrpc.NewQuotaCenterClient(failing).QuotaStates(context.Background()); !errors.Is(err, errs.ErrServiceNotReady) {
		t.Fatalf("center error: %v", err)
	}
}
