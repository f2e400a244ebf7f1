package coordrpc

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// RootCoordServer serves a rootcoord.Server.
type RootCoordServer struct {
	pb.UnimplementedRootCoordServer
	root *rootcoord.Server
}

// RegisterRootCoord serves root on g.
func RegisterRootCoord(g *grpc.Server, root *rootcoord.Server) {
	pb.RegisterRootCoordServer(g, &RootCoordServer{root: root})
}

func (s *RootCoordServer) AllocTimestamp(ctx context.Context, r *pb.AllocRequest) (*pb.AllocResponse, error) {
	v, err := s.root.AllocTimestamp(ctx, uint32(r.GetCount()))
	return &pb.AllocResponse{Status: rpc.StatusOf(err), Value: v}, nil
}

func (s *RootCoordServer) AllocID(ctx context.Context, r *pb.AllocRequest) (*pb.AllocResponse, error) {
	v, err := s.root.AllocID(ctx, r.GetCount())
	return &pb.AllocResponse{Status: rpc.StatusOf(err), Value: uint64(v)}, nil
}

func (s *RootCoordServer) PChannels(context.Context, *pb.PChannelsRequest) (*pb.PChannelsResponse, error) {
	return &pb.PChannelsResponse{Status: rpc.StatusOf(nil), Pchannels: s.root.PChannels()}, nil
}

func (s *RootCoordServer) CreateDatabase(ctx context.Context, r *pb.DatabaseRequest) (*pb.Empty, error) {
	return Empty(s.root.CreateDatabase(ctx, r.GetName(), r.GetProperties())), nil
}

func (s *RootCoordServer) DropDatabase(ctx context.Context, r *pb.DatabaseRequest) (*pb.Empty, error) {
	return Empty(s.root.DropDatabase(ctx, r.GetName())), nil
}

func fromDatabase(d contract.Database) *pb.Database {
	return &pb.Database{Id: d.ID, Name: d.Name, CreateTs: d.CreateTS, Properties: d.Properties}
}

func toDatabase(d *pb.Database) contract.Database {
	return contract.Database{ID: d.GetId(), Name: d.GetName(), CreateTS: d.GetCreateTs(), Properties: d.GetProperties()}
}

func (s *RootCoordServer) ListDatabases(ctx context.Context, _ *pb.ListDatabasesRequest) (*pb.ListDatabasesResponse, error) {
	dbs, err := s.root.ListDatabases(ctx)
	resp := &pb.ListDatabasesResponse{Status: rpc.StatusOf(err)}
	for _, d := range dbs {
		resp.Databases = append(resp.Databases, fromDatabase(d))
	}
	return resp, nil
}

func (s *RootCoordServer) DescribeDatabase(ctx context.Context, r *pb.DatabaseRequest) (*pb.DatabaseResponse, error) {
	d, err := s.root.DescribeDatabase(ctx, r.GetName())
	return &pb.DatabaseResponse{Status: rpc.StatusOf(err), Database: fromDatabase(d)}, nil
}

func (s *RootCoordServer) CreateCollection(ctx context.Context, r *pb.CreateCollectionRequest) (*pb.CollectionResponse, error) {
	c, err := s.root.CreateCollection(ctx, contract.CreateCollectionRequest{DBName: r.GetDbName(), Schema: r.GetSchema(), ShardsNum: r.GetShardsNum(),
		ConsistencyLevel: r.GetConsistencyLevel(), Properties: r.GetProperties(), PartitionNames: r.GetPartitionNames()})
	return &pb.CollectionResponse{Status: rpc.StatusOf(err), Collection: pb.FromCollection(c)}, nil
}

func (s *RootCoordServer) DropCollection(ctx context.Context, r *pb.CollectionRequest) (*pb.Empty, error) {
	return Empty(s.root.DropCollection(ctx, r.GetDbName(), r.GetName())), nil
}

func (s *RootCoordServer) DescribeCollection(ctx context.Context, r *pb.CollectionRequest) (*pb.CollectionResponse, error) {
	c, err := s.root.DescribeCollection(ctx, r.GetDbName(), r.GetName(), r.GetId())
	return &pb.CollectionResponse{Status: rpc.StatusOf(err), Collection: pb.FromCollection(c)}, nil
}

func (s *RootCoordServer) ListCollections(ctx context.Context, r *pb.ListCollectionsRequest) (*pb.ListCollectionsResponse, error) {
	cs, err := s.root.ListCollections(ctx, r.GetDbName())
	resp := &pb.ListCollectionsResponse{Status: rpc.StatusOf(err)}
	for _, c := range cs {
		resp.Collections = append(resp.Collections, pb.FromCollection(c))
	}
	return resp, nil
}

func (s *RootCoordServer) AlterCollectionProperties(ctx context.Context, r *pb.AlterCollectionRequest) (*pb.Empty, error) {
	return Empty(s.root.AlterCollectionProperties(ctx, r.GetDbName(), r.GetName(), r.GetProperties(), r.GetDeleteKeys())), nil
}

func (s *RootCoordServer) CreatePartition(ctx context.Context, r *pb.PartitionRequest) (*pb.Empty, error) {
	return Empty(s.root.CreatePartition(ctx, r.GetDbName(), r.GetCollection(), r.GetPartition())), nil
}

func (s *RootCoordServer) DropPartition(ctx context.Context, r *pb.PartitionRequest) (*pb.Empty, error) {
	return Empty(s.root.DropPartition(ctx, r.GetDbName(), r.GetCollection(), r.GetPartition())), nil
}

func (s *RootCoordServer) CreateAlias(ctx context.Context, r *pb.AliasRequest) (*pb.Empty, error) {
	return Empty(s.root.CreateAlias(ctx, r.GetDbName(), r.GetAlias(), r.GetCollection())), nil
}

func (s *RootCoordServer) DropAlias(ctx context.Context, r *pb.AliasRequest) (*pb.Empty, error) {
	return Empty(s.root.DropAlias(ctx, r.GetDbName(), r.GetAlias())), nil
}

func (s *RootCoordServer) AlterAlias(ctx context.Context, r *pb.AliasRequest) (*pb.Empty, error) {
	return Empty(s.root.AlterAlias(ctx, r.GetDbName(), r.GetAlias(), r.GetCollection())), nil
}

func (s *RootCoordServer) DescribeAlias(ctx context.Context, r *pb.AliasRequest) (*pb.AliasResponse, error) {
	c, err := s.root.DescribeAlias(ctx, r.GetDbName(), r.GetAlias())
	return &pb.AliasResponse{Status: rpc.StatusOf(err), Collection: c}, nil
}

// RootCoordClient calls a remote root coordinator. It implements the
// proxy's rootCoord, the ID and timestamp allocators of the other roles
// and querycoord's collections.
type RootCoordClient struct{ c pb.RootCoordClient }

// NewRootCoordClient calls the root coordinator over conn.
func NewRootCoordClient(conn grpc.ClientConnInterface) *RootCoordClient {
	return &RootCoordClient{c: pb.NewRootCoordClient(conn)}
}

const rootName = "rootcoord"

func (c *RootCoordClient) AllocTimestamp(ctx context.Context, count uint32) (uint64, error) {
	r, err := c.c.AllocTimestamp(ctx, &pb.AllocRequest{Count: int64(count)})
	if err := Check(rootName, r, err); err != nil {
		return 0, err
	}
	return r.GetValue(), nil
}

func (c *RootCoordClient) AllocID(ctx context.Context, count int64) (int64, error) {
	r, err := c.c.AllocID(ctx, &pb.AllocRequest{Count: count})
	if err := Check(rootName, r, err); err != nil {
		return 0, err
	}
	return int64(r.GetValue()), nil
}

// PChannels lists the physical channels.
func (c *RootCoordClient) PChannels(ctx context.Context) ([]string, error) {
	r, err := c.c.PChannels(ctx, &pb.PChannelsRequest{})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	return r.GetPchannels(), nil
}

func (c *RootCoordClient) CreateDatabase(ctx context.Context, name string, props map[string]string) error {
	r, err := c.c.CreateDatabase(ctx, &pb.DatabaseRequest{Name: name, Properties: props})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) DropDatabase(ctx context.Context, name string) error {
	r, err := c.c.DropDatabase(ctx, &pb.DatabaseRequest{Name: name})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) ListDatabases(ctx context.Context) ([]contract.Database, error) {
	r, err := c.c.ListDatabases(ctx, &pb.ListDatabasesRequest{})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	out := make([]contract.Database, 0, len(r.GetDatabases()))
	for _, d := range r.GetDatabases() {
		out = append(out, toDatabase(d))
	}
	return out, nil
}

func (c *RootCoordClient) DescribeDatabase(ctx context.Context, name string) (contract.Database, error) {
	r, err := c.c.DescribeDatabase(ctx, &pb.DatabaseRequest{Name: name})
	if err := Check(rootName, r, err); err != nil {
		return contract.Database{}, err
	}
	return toDatabase(r.GetDatabase()), nil
}

func (c *RootCoordClient) CreateCollection(ctx context.Context, req contract.CreateCollectionRequest) (*model.Collection, error) {
	r, err := c.c.CreateCollection(ctx, &pb.CreateCollectionRequest{DbName: req.DBName, Schema: req.Schema, ShardsNum: req.ShardsNum,
		ConsistencyLevel: req.ConsistencyLevel, Properties: req.Properties, PartitionNames: req.PartitionNames})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	return pb.ToCollection(r.GetCollection()), nil
}

func (c *RootCoordClient) DropCollection(ctx context.Context, db, name string) error {
	r, err := c.c.DropCollection(ctx, &pb.CollectionRequest{DbName: db, Name: name})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error) {
	r, err := c.c.DescribeCollection(ctx, &pb.CollectionRequest{DbName: db, Name: name, Id: id})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	return pb.ToCollection(r.GetCollection()), nil
}

func (c *RootCoordClient) ListCollections(ctx context.Context, db string) ([]*model.Collection, error) {
	r, err := c.c.ListCollections(ctx, &pb.ListCollectionsRequest{DbName: db})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	out := make([]*model.Collection, 0, len(r.GetCollections()))
	for _, pc := range r.GetCollections() {
		out = append(out, pb.ToCollection(pc))
	}
	return out, nil
}

func (c *RootCoordClient) AlterCollectionProperties(ctx context.Context, db, name string, props []*commonpb.KeyValuePair, deleteKeys []string) error {
	r, err := c.c.AlterCollectionProperties(ctx, &pb.AlterCollectionRequest{DbName: db, Name: name, Properties: props, DeleteKeys: deleteKeys})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) CreatePartition(ctx context.Context, db, collection, partition string) error {
	r, err := c.c.CreatePartition(ctx, &pb.PartitionRequest{DbName: db, Collection: collection, Partition: partition})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) DropPartition(ctx context.Context, db, collection, partition string) error {
	r, err := c.c.DropPartition(ctx, &pb.PartitionRequest{DbName: db, Collection: collection, Partition: partition})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) CreateAlias(ctx context.Context, db, alias, collection string) error {
	r, err := c.c.CreateAlias(ctx, &pb.AliasRequest{DbName: db, Alias: alias, Collection: collection})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) DropAlias(ctx context.Context, db, alias string) error {
	r, err := c.c.DropAlias(ctx, &pb.AliasRequest{DbName: db, Alias: alias})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) AlterAlias(ctx context.Context, db, alias, collection string) error {
	r, err := c.c.AlterAlias(ctx, &pb.AliasRequest{DbName: db, Alias: alias, Collection: collection})
	return Check(rootName, r, err)
}

func (c *RootCoordClient) DescribeAlias(ctx context.Context, db, alias string) (string, error) {
	r, err := c.c.DescribeAlias(ctx, &pb.AliasRequest{DbName: db, Alias: alias})
	if err := Check(rootName, r, err); err != nil {
		return "", err
	}
	return r.GetCollection(), nil
}
