package coordrpc

// The Milvus 2.6 DDL over the wire: the root coordinator's database,
// rename and schema-evolution calls, the index coordinator's AlterIndex
// and the data coordinator's DropSegments (TruncateCollection). Errors keep
// their Milvus code and text (rpc.StatusOf / Check).

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// ---- root coordinator ----

func (s *RootCoordServer) AlterDatabase(ctx context.Context, r *pb.AlterDatabaseRequest) (*pb.Empty, error) {
	return Empty(s.root.AlterDatabase(ctx, r.GetName(), r.GetProperties(), r.GetDeleteKeys())), nil
}

func (s *RootCoordServer) RenameCollection(ctx context.Context, r *pb.RenameCollectionRequest) (*pb.Empty, error) {
	return Empty(s.root.RenameCollection(ctx, r.GetDbName(), r.GetOldName(), r.GetNewDbName(), r.GetNewName())), nil
}

func (s *RootCoordServer) AddCollectionField(ctx context.Context, r *pb.AddCollectionFieldRequest) (*pb.CollectionResponse, error) {
	c, err := s.root.AddCollectionField(ctx, r.GetDbName(), r.GetName(), r.GetField())
	return &pb.CollectionResponse{Status: rpc.StatusOf(err), Collection: pb.FromCollection(c)}, nil
}

func (s *RootCoordServer) AlterCollectionField(ctx context.Context, r *pb.AlterCollectionFieldRequest) (*pb.CollectionResponse, error) {
	c, err := s.root.AlterCollectionField(ctx, r.GetDbName(), r.GetName(), r.GetFieldName(), r.GetProperties(), r.GetDeleteKeys())
	return &pb.CollectionResponse{Status: rpc.StatusOf(err), Collection: pb.FromCollection(c)}, nil
}

// AlterDatabase sets or deletes a database's properties.
func (c *RootCoordClient) AlterDatabase(ctx context.Context, name string, props []*commonpb.KeyValuePair, deleteKeys []string) error {
	r, err := c.c.AlterDatabase(ctx, &pb.AlterDatabaseRequest{Name: name, Properties: props, DeleteKeys: deleteKeys})
	return Check(rootName, r, err)
}

// RenameCollection renames a collection, possibly into another database.
func (c *RootCoordClient) RenameCollection(ctx context.Context, db, oldName, newDB, newName string) error {
	r, err := c.c.RenameCollection(ctx, &pb.RenameCollectionRequest{DbName: db, OldName: oldName, NewDbName: newDB, NewName: newName})
	return Check(rootName, r, err)
}

// AddCollectionField adds a field and returns the collection's new definition.
func (c *RootCoordClient) AddCollectionField(ctx context.Context, db, name string, field *schemapb.FieldSchema) (*model.Collection, error) {
	r, err := c.c.AddCollectionField(ctx, &pb.AddCollectionFieldRequest{DbName: db, Name: name, Field: field})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	return pb.ToCollection(r.GetCollection()), nil
}

// AlterCollectionField changes a field's properties and returns the
// collection's new definition.
func (c *RootCoordClient) AlterCollectionField(ctx context.Context, db, name, fieldName string, props []*commonpb.KeyValuePair, deleteKeys []string) (*model.Collection, error) {
	r, err := c.c.AlterCollectionField(ctx, &pb.AlterCollectionFieldRequest{DbName: db, Name: name, FieldName: fieldName, Properties: props, DeleteKeys: deleteKeys})
	if err := Check(rootName, r, err); err != nil {
		return nil, err
	}
	return pb.ToCollection(r.GetCollection()), nil
}

// ---- index coordinator ----

func (s *IndexCoordServer) AlterIndex(ctx context.Context, r *pb.AlterIndexRequest) (*pb.BoolResponse, error) {
	changed, err := s.index.AlterIndex(ctx, r.GetCollectionId(), r.GetName(), r.GetParams(), r.GetDeleteKeys())
	return &pb.BoolResponse{Status: rpc.StatusOf(err), Value: changed}, nil
}

// AlterIndex sets or deletes an index's properties; it reports whether
// anything changed.
func (c *IndexCoordClient) AlterIndex(ctx context.Context, collectionID int64, name string, params map[string]string, deleteKeys []string) (bool, error) {
	r, err := c.c.AlterIndex(ctx, &pb.AlterIndexRequest{CollectionId: collectionID, Name: name, Params: params, DeleteKeys: deleteKeys})
	if err := Check(indexName, r, err); err != nil {
		return false, err
	}
	return r.GetValue(), nil
}

// ---- data coordinator ----

func (s *DataCoordServer) DropSegments(ctx context.Context, r *pb.DropSegmentsDataRequest) (*pb.Empty, error) {
	return Empty(s.data.DropSegments(ctx, r.GetCollectionId(), r.GetSegmentIds())), nil
}

// DropSegments forgets a truncated collection's segments.
func (c *DataCoordClient) DropSegments(ctx context.Context, collection int64, ids []int64) error {
	r, err := c.c.DropSegments(ctx, &pb.DropSegmentsDataRequest{CollectionId: collection, SegmentIds: ids})
	return Check(dataName, r, err)
}

// ---- schema functions ----

func (s *RootCoordServer) AlterCollectionFunction(ctx context.Context, r *pb.CollectionFunctionRequest) (*pb.CollectionResponse, error) {
	var c *model.Collection
	var err error
	switch r.GetOp() {
	case pb.CollectionFunctionRequest_ADD:
		c, err = s.root.AddCollectionFunction(ctx, r.GetDbName(), r.GetName(), r.GetFunction())
	case pb.CollectionFunctionRequest_ALTER:
		c, err = s.root.AlterCollectionFunction(ctx, r.GetDbName(), r.GetName(), r.GetFunction())
	case pb.CollectionFunctionRequest_DROP:
		c, err = s.root.DropCollectionFunction(ctx, r.GetDbName(), r.GetName(), r.GetFunctionName())
	default:
		err = fmt.Errorf("coordrpc: unknown collection function op %v", r.GetOp())
	}
	return &pb.CollectionResponse{Status: rpc.StatusOf(err), Collection: pb.FromCollection(c)}, nil
}

func (c *RootCoordClient) alterFunction(ctx context.Context, r *pb.CollectionFunctionRequest) (*model.Collection, error) {
	res, err := c.c.AlterCollectionFunction(ctx, r)
	if err := Check(rootName, res, err); err != nil {
		return nil, err
	}
	return pb.ToCollection(res.GetCollection()), nil
}

// AddCollectionFunction adds a schema function and returns the
// collection's new definition.
func (c *RootCoordClient) AddCollectionFunction(ctx context.Context, db, name string, fn *schemapb.FunctionSchema) (*model.Collection, error) {
	return c.alterFunction(ctx, &pb.CollectionFunctionRequest{DbName: db, Name: name, Op: pb.CollectionFunctionRequest_ADD, Function: fn})
}

// AlterCollectionFunction replaces a schema function and returns the
// collection's new definition.
func (c *RootCoordClient) AlterCollectionFunction(ctx context.Context, db, name string, fn *schemapb.FunctionSchema) (*model.Collection, error) {
	return c.alterFunction(ctx, &pb.CollectionFunctionRequest{DbName: db, Name: name, Op: pb.CollectionFunctionRequest_ALTER, Function: fn})
}

// DropCollectionFunction drops a schema function and returns the
// collection's new definition.
func (c *RootCoordClient) DropCollectionFunction(ctx context.Context, db, name, fnName string) (*model.Collection, error) {
	return c.alterFunction(ctx, &pb.CollectionFunctionRequest{DbName: db, Name: name, Op: pb.CollectionFunctionRequest_DROP, FunctionName: fnName})
}
