package coordrpc

import (
	"context"
	"maps"
	"slices"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

const quotaName = "rootcoord"

// QuotaCenterServer serves the quota center's verdict
// (proto/milvago/quota.proto), next to the root coordinator.
type QuotaCenterServer struct {
	pb.UnimplementedQuotaCenterServer
	src quota.StatesSource
}

// RegisterQuotaCenter serves src on g.
func RegisterQuotaCenter(g *grpc.Server, src quota.StatesSource) {
	pb.RegisterQuotaCenterServer(g, &QuotaCenterServer{src: src})
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

// QuotaCenterClient fetches the quota center's verdict; it implements
// quota.StatesSource for a cluster proxy's limiter.
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

// FromQuotaStates is s as its message.
func FromQuotaStates(s *quota.States) *pb.QuotaStates {
	if s == nil {
		return &pb.QuotaStates{}
	}
	return &pb.QuotaStates{MemoryAll: s.MemoryAll, MemoryCollections: trueKeys(s.Memory), Factor: s.Factor,
		Factors: s.Factors, DiskAll: s.DiskAll, DiskDbs: trueKeys(s.DiskDBs),
		DiskCollections: trueKeys(s.DiskCollections), DiskPartitions: trueKeys(s.DiskPartitions)}
}

// ToQuotaStates is the message as quota.States.
func ToQuotaStates(r *pb.QuotaStates) *quota.States {
	return &quota.States{MemoryAll: r.GetMemoryAll(), Memory: set(r.GetMemoryCollections()), Factor: r.GetFactor(),
		Factors: r.GetFactors(), DiskAll: r.GetDiskAll(), DiskDBs: set(r.GetDiskDbs()),
		DiskCollections: set(r.GetDiskCollections()), DiskPartitions: set(r.GetDiskPartitions())}
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
