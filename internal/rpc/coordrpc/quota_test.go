package coordrpc_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
)

type fixedStates struct {
	s   *quota.States
	err error
}

func (f fixedStates) QuotaStates(context.Context) (*quota.States, error) { return f.s, f.err }

// TestQuotaStatesRoundTrip: a proxy's client receives the quota center's
// verdict as the center keeps it, and the center's error as a Milvus
// error.
func TestQuotaStatesRoundTrip(t *testing.T) {
	want := &quota.States{MemoryAll: true, Memory: map[int64]bool{7: true, 9: true}, Factor: 0.5,
		Factors: map[int64]float64{3: 0.25}, DiskAll: "cluster disk quota exceeded",
		DiskDBs: map[string]bool{"d": true}, DiskCollections: map[int64]bool{4: true}, DiskPartitions: map[int64]bool{41: true}}
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
