package coordrpc

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

const quotaName = "rootcoord"

// QuotaCenterSource is what the quota center serves: its verdict and its
// last sample (quota.Center).
type QuotaCenterSource interface {
	quota.StatesSource
	QuotaMetrics(ctx context.Context) (*contract.QuotaCenterMetrics, error)
}

// QuotaCenterServer serves the quota center's verdict and last sample
// (proto/milvago/quota.proto), next to the root coordinator.
type QuotaCenterServer struct {
	pb.UnimplementedQuotaCenterServer
	src QuotaCenterSource
}

// RegisterQuotaCenter serves src on g.
func RegisterQuotaCenter(g *grpc.Server, src QuotaCenterSource) {
	pb.RegisterQuotaCenterServer(g, &QuotaCenterServer{src: src})
}

// GetQuotaMetrics answers the last sample as its JSON, as Milvus's root
// coordinator does.
func (s *QuotaCenterServer) GetQuotaMetrics(ctx context.Context, _ *pb.Empty) (*pb.QuotaMetrics, error) {
	m, err := s.src.QuotaMetrics(ctx)
	if err != nil {
		return &pb.QuotaMetrics{Status: rpc.StatusOf(err)}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return &pb.QuotaMetrics{Status: rpc.StatusOf(fmt.Errorf("coordrpc: encode the quota metrics: %w", err))}, nil
	}
	return &pb.QuotaMetrics{Status: rpc.StatusOf(nil), MetricsInfo: string(b)}, nil
}

func (s *QuotaCenterServer) GetQuotaStates(ctx context.Context, _ *pb.Empty) (*pb.QuotaStates, error) {
	st, err := s.src.QuotaStates(ctx)
	if err != nil {
		return &pb.QuotaStates{Status: rpc.StatusOf(err)}, nil
	}
	r := FromQuotaStates(st)
	r.Status = rpc.StatusOf(nil)
	return r, nil
}

// QuotaCenterClient fetches the quota center's verdict and last sample;
// it implements quota.StatesSource for a cluster proxy's limiter and
// QuotaCenterSource for its GetQuotaMetrics.
type QuotaCenterClient struct{ c pb.QuotaCenterClient }

// NewQuotaCenterClient returns a client on conn (the root coordinator).
func NewQuotaCenterClient(conn grpc.ClientConnInterface) *QuotaCenterClient {
	return &QuotaCenterClient{c: pb.NewQuotaCenterClient(conn)}
}

// QuotaStates is the quota center's last verdict.
func (c *QuotaCenterClient) QuotaStates(ctx context.Context) (*quota.States, error) {
	r, err := c.c.GetQuotaStates(ctx, &pb.Empty{})
	if err := Check(quotaName, r, err); err != nil {
		return nil, err
	}
	return ToQuotaStates(r), nil
}

// QuotaMetrics is the quota center's last sample.
func (c *QuotaCenterClient) QuotaMetrics(ctx context.Context) (*contract.QuotaCenterMetrics, error) {
	r, err := c.c.GetQuotaMetrics(ctx, &pb.Empty{})
	if err := Check(quotaName, r, err); err != nil {
		return nil, err
	}
	var m contract.QuotaCenterMetrics
	if err := json.Unmarshal([]byte(r.GetMetricsInfo()), &m); err != nil {
		return nil, fmt.Errorf("coordrpc: decode the quota metrics: %w", err)
	}
	return &m, nil
}

// FromQuotaStates is s as its message.
func FromQuotaStates(s *quota.States) *pb.QuotaStates {
	if s == nil {
		return &pb.QuotaStates{}
	}
	return &pb.QuotaStates{MemoryAll: s.MemoryAll, MemoryCollections: trueKeys(s.Memory), Factor: s.Factor,
		Factors: s.Factors, DiskAll: s.DiskAll, DiskDbs: trueKeys(s.DiskDBs),
		DiskCollections: trueKeys(s.DiskCollections), DiskPartitions: trueKeys(s.DiskPartitions), Proxies: int32(s.Proxies)}
}

// ToQuotaStates is the message as quota.States.
func ToQuotaStates(r *pb.QuotaStates) *quota.States {
	return &quota.States{MemoryAll: r.GetMemoryAll(), Memory: set(r.GetMemoryCollections()), Factor: r.GetFactor(),
		Factors: r.GetFactors(), DiskAll: r.GetDiskAll(), DiskDBs: set(r.GetDiskDbs()),
		DiskCollections: set(r.GetDiskCollections()), DiskPartitions: set(r.GetDiskPartitions()), Proxies: int(r.GetProxies())}
}

func trueKeys[K int64 | string](m map[K]bool) []K {
	var out []K
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] {
			out = append(out, k)
		}
	}
	return out
}

func set[K comparable](ks []K) map[K]bool {
	if len(ks) == 0 {
		return nil
	}
	m := make(map[K]bool, len(ks))
	for _, k := range ks {
		m[k] = true
	}
	return m
}
