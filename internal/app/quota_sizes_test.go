package app

import (
	"context"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
)

// newSizedData is a real data coordinator holding colls collections
// (IDs 1..colls), each with two partitions (10, 11) of segs flushed
// segments of 100 bytes each.
func newSizedData(tb testing.TB, colls, segs int) *datacoord.Server {
	tb.Helper()
	ctx := context.Background()
	store := kv.NewMemory()
	tb.Cleanup(func() { store.Close() })
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		tb.Fatal(err)
	}
	data, err := datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		tb.Fatal(err)
	}
	for c := int64(1); c <= int64(colls); c++ {
		vc := fmt.Sprintf("vc-%d", c)
		for i := range segs {
			for _, part := range []int64{10, 11} {
				a, err := data.AssignSegment(ctx, c, part, vc, 1, 1, uint64(i+1))
				if err != nil {
					tb.Fatal(err)
				}
				if _, err := data.SealChannel(ctx, c, vc, uint64(i+2)); err != nil {
					tb.Fatal(err)
				}
				if err := data.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a.SegmentID, NumRows: 1, SizeBytes: 100,
					Binlogs: map[int64]string{100: "b"}, FlushTS: uint64(i + 2)}); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	return data
}

// segmentsData is how the quota center read the sizes before: each
// collection's segments, one call (in a cluster one RPC) per collection.
type segmentsData interface {
	Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
}

func sizesBySegments(ctx context.Context, d segmentsData, colls int) (int64, error) {
	var total int64
	for c := int64(1); c <= int64(colls); c++ {
		segs, err := d.Segments(ctx, c, "")
		if err != nil {
			return 0, err
		}
		parts := map[int64]int64{}
		for _, seg := range segs {
			parts[seg.PartitionID] += seg.SizeBytes
			total += seg.SizeBytes
		}
	}
	return total, nil
}

// BenchmarkQuotaBinlogSample is one sample of the stored sizes for the
// disk quotas with 1,000 collections of 8 flushed segments: before, one
// Segments call per collection (listing its segments); now, one
// QuotaMetrics call answered from sizes kept as segments change. In
// process (standalone, mixcoord) and over gRPC (a data coordinator of its
// own, as the e2e cluster runs it).
func BenchmarkQuotaBinlogSample(b *testing.B) {
	const colls, segs = 1000, 4
	ctx := context.Background()
	data := newSizedData(b, colls, segs)
	l := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	coordrpc.RegisterDataCoord(g, data)
	go g.Serve(l)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return l.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(); g.Stop() })
	client := coordrpc.NewDataCoordClient(conn)
	const want = colls * 2 * segs * 100
	for _, tc := range []struct {
		name  string
		calls int
		run   func() (int64, error)
	}{
		{"segments-per-collection/inproc", colls, func() (int64, error) { return sizesBySegments(ctx, data, colls) }},
		{"one-call/inproc", 1, func() (int64, error) {
			m, err := data.QuotaMetrics(ctx)
			return m.TotalBinlogSize, err
		}},
		{"segments-per-collection/grpc", colls, func() (int64, error) { return sizesBySegments(ctx, client, colls) }},
		{"one-call/grpc", 1, func() (int64, error) {
			m, err := client.QuotaMetrics(ctx)
			if err != nil {
				return 0, err
			}
			return m.TotalBinlogSize, nil
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := tc.run()
				if err != nil || n != want {
					b.Fatalf("%d bytes, %v; want %d", n, err, want)
				}
			}
			b.ReportMetric(float64(tc.calls), "calls/op")
		})
	}
}
