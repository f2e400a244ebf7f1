package rpc

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/proxy"
	"github.com/milvago/milvago/internal/rbac"
)

// Version is the Milvus version Milvago reports to clients: the first 2.6
// release with every feature of its public API that Milvago serves (search
// by primary keys arrived in v2.6.8; search iterator v2, which SDKs detect
// by the token in the answer rather than by version, in 2.5).
const Version = "v2.6.8"

// Service implements milvuspb.MilvusServiceServer over a proxy. Methods
// Milvago does not implement yet answer gRPC's Unimplemented.
type Service struct {
	milvuspb.UnimplementedMilvusServiceServer
	p          *proxy.Server
	deployMode string
	nextID     atomic.Int64   // connection identifiers, for Session consistency
	replicas   replicaSource  // GetReplicas (service_replicas.go); nil: unimplemented
	rgs        resourceGroups // resource group calls (service_replicas.go); nil: unimplemented
	sysInfo    SystemInfo     // GetMetrics system_info (service_metrics.go)
	acl        *rbac.Store    // users, roles and grants (service_rbac.go); nil: not served
}

// NewService returns the public API service.
func NewService(p *proxy.Server, deployMode string) *Service {
	s := &Service{p: p, deployMode: deployMode}
	s.nextID.Store(rand.Int64N(1 << 40))
	return s
}

// reply runs fn and fills the response's status from its error.
func reply[Req any, Resp proto.Message](ctx context.Context, req Req, fn func(context.Context, Req) (Resp, error), empty func() Resp) (Resp, error) {
	resp, err := fn(ctx, req)
	if err != nil {
		resp = empty()
	}
	setStatus(resp, StatusOf(err))
	return resp, nil
}

// status runs a status-only fn.
func status[Req any](ctx context.Context, req Req, fn func(context.Context, Req) error) (*commonpb.Status, error) {
	return StatusOf(fn(ctx, req)), nil
}

// Connect tells the client who we are.
func (s *Service) Connect(ctx context.Context, req *milvuspb.ConnectRequest) (*milvuspb.ConnectResponse, error) {
	if err := s.p.CheckDatabase(ctx); err != nil {
		return &milvuspb.ConnectResponse{Status: StatusOf(err)}, nil
	}
	id := s.nextID.Add(1)
	s.p.ClientConnected(id, req.GetClientInfo())
	return &milvuspb.ConnectResponse{
		Status: StatusOf(nil),
		ServerInfo: &commonpb.ServerInfo{BuildTags: Version, GoVersion: runtime.Version(), DeployMode: s.deployMode,
			Reserved: map[string]string{"server": "milvago"}},
		Identifier: id,
	}, nil
}

// GetVersion reports the Milvus version we implement.
func (s *Service) GetVersion(ctx context.Context, req *milvuspb.GetVersionRequest) (*milvuspb.GetVersionResponse, error) {
	return &milvuspb.GetVersionResponse{Status: StatusOf(nil), Version: Version}, nil
}

// CheckHealth reports health.
func (s *Service) CheckHealth(ctx context.Context, req *milvuspb.CheckHealthRequest) (*milvuspb.CheckHealthResponse, error) {
	return &milvuspb.CheckHealthResponse{Status: StatusOf(nil), IsHealthy: true}, nil
}

// GetComponentStates reports the proxy healthy.
func (s *Service) GetComponentStates(ctx context.Context, req *milvuspb.GetComponentStatesRequest) (*milvuspb.ComponentStates, error) {
	return &milvuspb.ComponentStates{Status: StatusOf(nil), State: &milvuspb.ComponentInfo{Role: "Proxy", StateCode: commonpb.StateCode_Healthy}}, nil
}

func (s *Service) CreateDatabase(ctx context.Context, req *milvuspb.CreateDatabaseRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.CreateDatabase)
}

func (s *Service) DropDatabase(ctx context.Context, req *milvuspb.DropDatabaseRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.DropDatabase)
}

func (s *Service) ListDatabases(ctx context.Context, req *milvuspb.ListDatabasesRequest) (*milvuspb.ListDatabasesResponse, error) {
	resp, err := reply(ctx, req, s.p.ListDatabases, func() *milvuspb.ListDatabasesResponse { return &milvuspb.ListDatabasesResponse{} })
	return s.filterDatabases(ctx, resp), err // service_rbac.go
}

func (s *Service) DescribeDatabase(ctx context.Context, req *milvuspb.DescribeDatabaseRequest) (*milvuspb.DescribeDatabaseResponse, error) {
	return reply(ctx, req, s.p.DescribeDatabase, func() *milvuspb.DescribeDatabaseResponse { return &milvuspb.DescribeDatabaseResponse{} })
}

func (s *Service) CreateCollection(ctx context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.CreateCollection)
}

func (s *Service) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.DropCollection)
}

func (s *Service) HasCollection(ctx context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
		ok, err := s.p.HasCollection(ctx, req)
		return &milvuspb.BoolResponse{Value: ok}, err
	}, func() *milvuspb.BoolResponse { return &milvuspb.BoolResponse{} })
}

func (s *Service) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	return reply(ctx, req, s.p.DescribeCollectionPublic, func() *milvuspb.DescribeCollectionResponse { return &milvuspb.DescribeCollectionResponse{} })
}

func (s *Service) ShowCollections(ctx context.Context, req *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	resp, err := reply(ctx, req, s.p.ShowCollections, func() *milvuspb.ShowCollectionsResponse { return &milvuspb.ShowCollectionsResponse{} })
	return s.filterCollections(ctx, req, resp), err // service_rbac.go
}

func (s *Service) GetCollectionStatistics(ctx context.Context, req *milvuspb.GetCollectionStatisticsRequest) (*milvuspb.GetCollectionStatisticsResponse, error) {
	return reply(ctx, req, s.p.GetCollectionStatistics, func() *milvuspb.GetCollectionStatisticsResponse {
		return &milvuspb.GetCollectionStatisticsResponse{}
	})
}

func (s *Service) AlterCollection(ctx context.Context, req *milvuspb.AlterCollectionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AlterCollection)
}

func (s *Service) CreatePartition(ctx context.Context, req *milvuspb.CreatePartitionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.CreatePartition)
}

func (s *Service) DropPartition(ctx context.Context, req *milvuspb.DropPartitionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.DropPartition)
}

func (s *Service) HasPartition(ctx context.Context, req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
		ok, err := s.p.HasPartition(ctx, req)
		return &milvuspb.BoolResponse{Value: ok}, err
	}, func() *milvuspb.BoolResponse { return &milvuspb.BoolResponse{} })
}

func (s *Service) ShowPartitions(ctx context.Context, req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	return reply(ctx, req, s.p.ShowPartitions, func() *milvuspb.ShowPartitionsResponse { return &milvuspb.ShowPartitionsResponse{} })
}

func (s *Service) GetPartitionStatistics(ctx context.Context, req *milvuspb.GetPartitionStatisticsRequest) (*milvuspb.GetPartitionStatisticsResponse, error) {
	return reply(ctx, req, s.p.GetPartitionStatistics, func() *milvuspb.GetPartitionStatisticsResponse {
		return &milvuspb.GetPartitionStatisticsResponse{}
	})
}

func (s *Service) LoadCollection(ctx context.Context, req *milvuspb.LoadCollectionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.LoadCollection)
}

func (s *Service) ReleaseCollection(ctx context.Context, req *milvuspb.ReleaseCollectionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.ReleaseCollection)
}

func (s *Service) LoadPartitions(ctx context.Context, req *milvuspb.LoadPartitionsRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.LoadPartitions)
}

func (s *Service) ReleasePartitions(ctx context.Context, req *milvuspb.ReleasePartitionsRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.ReleasePartitions)
}

func (s *Service) GetLoadingProgress(ctx context.Context, req *milvuspb.GetLoadingProgressRequest) (*milvuspb.GetLoadingProgressResponse, error) {
	return reply(ctx, req, s.p.GetLoadingProgress, func() *milvuspb.GetLoadingProgressResponse { return &milvuspb.GetLoadingProgressResponse{} })
}

func (s *Service) GetLoadState(ctx context.Context, req *milvuspb.GetLoadStateRequest) (*milvuspb.GetLoadStateResponse, error) {
	return reply(ctx, req, s.p.GetLoadState, func() *milvuspb.GetLoadStateResponse { return &milvuspb.GetLoadStateResponse{} })
}

func (s *Service) CreateIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.CreateIndex)
}

func (s *Service) DescribeIndex(ctx context.Context, req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	return reply(ctx, req, s.p.DescribeIndex, func() *milvuspb.DescribeIndexResponse { return &milvuspb.DescribeIndexResponse{} })
}

func (s *Service) GetIndexState(ctx context.Context, req *milvuspb.GetIndexStateRequest) (*milvuspb.GetIndexStateResponse, error) {
	return reply(ctx, req, s.p.GetIndexState, func() *milvuspb.GetIndexStateResponse { return &milvuspb.GetIndexStateResponse{} })
}

func (s *Service) GetIndexBuildProgress(ctx context.Context, req *milvuspb.GetIndexBuildProgressRequest) (*milvuspb.GetIndexBuildProgressResponse, error) {
	return reply(ctx, req, s.p.GetIndexBuildProgress, func() *milvuspb.GetIndexBuildProgressResponse {
		return &milvuspb.GetIndexBuildProgressResponse{}
	})
}

func (s *Service) DropIndex(ctx context.Context, req *milvuspb.DropIndexRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.DropIndex)
}

func (s *Service) Insert(ctx context.Context, req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	return reply(ctx, req, s.p.Insert, emptyMutation)
}

func (s *Service) Upsert(ctx context.Context, req *milvuspb.UpsertRequest) (*milvuspb.MutationResult, error) {
	return reply(ctx, req, s.p.Upsert, emptyMutation)
}

func (s *Service) Delete(ctx context.Context, req *milvuspb.DeleteRequest) (*milvuspb.MutationResult, error) {
	return reply(ctx, req, s.p.Delete, emptyMutation)
}

func emptyMutation() *milvuspb.MutationResult { return &milvuspb.MutationResult{} }

func (s *Service) Flush(ctx context.Context, req *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	return reply(ctx, req, s.p.Flush, func() *milvuspb.FlushResponse { return &milvuspb.FlushResponse{} })
}

func (s *Service) GetFlushState(ctx context.Context, req *milvuspb.GetFlushStateRequest) (*milvuspb.GetFlushStateResponse, error) {
	return reply(ctx, req, s.p.GetFlushState, func() *milvuspb.GetFlushStateResponse { return &milvuspb.GetFlushStateResponse{} })
}

func (s *Service) FlushAll(ctx context.Context, req *milvuspb.FlushAllRequest) (*milvuspb.FlushAllResponse, error) {
	return reply(ctx, req, s.p.FlushAll, func() *milvuspb.FlushAllResponse { return &milvuspb.FlushAllResponse{} })
}

func (s *Service) Search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	return reply(ctx, req, s.p.Search, func() *milvuspb.SearchResults { return &milvuspb.SearchResults{} })
}

func (s *Service) HybridSearch(ctx context.Context, req *milvuspb.HybridSearchRequest) (*milvuspb.SearchResults, error) {
	return reply(ctx, req, s.p.HybridSearch, func() *milvuspb.SearchResults { return &milvuspb.SearchResults{} })
}

func (s *Service) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	return reply(ctx, req, s.p.Query, func() *milvuspb.QueryResults { return &milvuspb.QueryResults{} })
}

func (s *Service) CreateAlias(ctx context.Context, req *milvuspb.CreateAliasRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.CreateAlias)
}

func (s *Service) DropAlias(ctx context.Context, req *milvuspb.DropAliasRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.DropAlias)
}

func (s *Service) AlterAlias(ctx context.Context, req *milvuspb.AlterAliasRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AlterAlias)
}

func (s *Service) DescribeAlias(ctx context.Context, req *milvuspb.DescribeAliasRequest) (*milvuspb.DescribeAliasResponse, error) {
	return reply(ctx, req, s.p.DescribeAlias, func() *milvuspb.DescribeAliasResponse { return &milvuspb.DescribeAliasResponse{} })
}

func (s *Service) ListAliases(ctx context.Context, req *milvuspb.ListAliasesRequest) (*milvuspb.ListAliasesResponse, error) {
	return reply(ctx, req, s.p.ListAliases, func() *milvuspb.ListAliasesResponse { return &milvuspb.ListAliasesResponse{} })
}

func (s *Service) AlterDatabase(ctx context.Context, req *milvuspb.AlterDatabaseRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AlterDatabase)
}

func (s *Service) RenameCollection(ctx context.Context, req *milvuspb.RenameCollectionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.RenameCollection)
}

func (s *Service) AddCollectionField(ctx context.Context, req *milvuspb.AddCollectionFieldRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AddCollectionField)
}

func (s *Service) AlterCollectionField(ctx context.Context, req *milvuspb.AlterCollectionFieldRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AlterCollectionField)
}

func (s *Service) TruncateCollection(ctx context.Context, req *milvuspb.TruncateCollectionRequest) (*milvuspb.TruncateCollectionResponse, error) {
	return reply(ctx, req, s.p.TruncateCollection, func() *milvuspb.TruncateCollectionResponse { return &milvuspb.TruncateCollectionResponse{} })
}

func (s *Service) BatchDescribeCollection(ctx context.Context, req *milvuspb.BatchDescribeCollectionRequest) (*milvuspb.BatchDescribeCollectionResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.BatchDescribeCollectionRequest) (*milvuspb.BatchDescribeCollectionResponse, error) {
		return s.p.BatchDescribeCollection(ctx, req, StatusOf)
	}, func() *milvuspb.BatchDescribeCollectionResponse { return &milvuspb.BatchDescribeCollectionResponse{} })
}

func (s *Service) AlterIndex(ctx context.Context, req *milvuspb.AlterIndexRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AlterIndex)
}

func (s *Service) GetIndexStatistics(ctx context.Context, req *milvuspb.GetIndexStatisticsRequest) (*milvuspb.GetIndexStatisticsResponse, error) {
	return reply(ctx, req, s.p.GetIndexStatistics, func() *milvuspb.GetIndexStatisticsResponse { return &milvuspb.GetIndexStatisticsResponse{} })
}

func (s *Service) GetFlushAllState(ctx context.Context, req *milvuspb.GetFlushAllStateRequest) (*milvuspb.GetFlushAllStateResponse, error) {
	return reply(ctx, req, s.p.GetFlushAllState, func() *milvuspb.GetFlushAllStateResponse { return &milvuspb.GetFlushAllStateResponse{} })
}

// RunAnalyzer tokenizes texts with an analyzer (internal/analyzer).
func (s *Service) RunAnalyzer(ctx context.Context, req *milvuspb.RunAnalyzerRequest) (*milvuspb.RunAnalyzerResponse, error) {
	return reply(ctx, req, s.p.RunAnalyzer, func() *milvuspb.RunAnalyzerResponse { return &milvuspb.RunAnalyzerResponse{} })
}

// AddCollectionFunction, AlterCollectionFunction, DropCollectionFunction:
// Milvus 2.6's refusals for BM25 functions (internal/proxy/functions_ddl.go).
func (s *Service) AddCollectionFunction(ctx context.Context, req *milvuspb.AddCollectionFunctionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AddCollectionFunction)
}

func (s *Service) AlterCollectionFunction(ctx context.Context, req *milvuspb.AlterCollectionFunctionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.AlterCollectionFunction)
}

func (s *Service) DropCollectionFunction(ctx context.Context, req *milvuspb.DropCollectionFunctionRequest) (*commonpb.Status, error) {
	return status(ctx, req, s.p.DropCollectionFunction)
}
