package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

// AddCollectionFunction is Milvus 2.6's addCollectionFunctionTask: a BM25
// function cannot be added to an existing collection; a TextEmbedding
// function is validated with the collection's schema (its output field
// must exist, be a vector field of the model's type and dimension and not
// be nullable) and its service called once, then the root coordinator
// stores it with a new schema version. As in Milvus, the rows already
// stored keep the output values they were written with: the function
// computes the output of later inserts and upserts, and embeds the texts
// of later searches.
func (s *Server) AddCollectionFunction(ctx context.Context, req *milvuspb.AddCollectionFunctionRequest) error {
	fn := req.GetFunctionSchema()
	if fn == nil {
		return errPlain("function schema is empty")
	}
	if fn.GetType() == schemapb.FunctionType_BM25 {
		return errPlain("currently does not support adding BM25 function")
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	schema := proto.Clone(c.Schema).(*schemapb.CollectionSchema)
	schema.Functions = append(schema.Functions, proto.Clone(fn).(*schemapb.FunctionSchema))
	if err := validateFunctions(schema); err != nil {
		return err
	}
	if err := s.checkFunctionsRuntime(ctx, c.DBName, schema, fn.GetName(), nil); err != nil {
		return err
	}
	next, err := s.d.Root.AddCollectionFunction(ctx, c.DBName, c.Name, fn)
	if err != nil {
		return err
	}
	s.logger.Info("added function", "collection", next.Name, "function", fn.GetName(), "version", next.Schema.GetVersion())
	return s.schemaChanged(ctx, next)
}

// AlterCollectionFunction is alterCollectionFunctionTask: BM25 functions
// cannot be altered; a TextEmbedding function is replaced by its new
// definition once that is validated and its service answers. Stored rows
// keep their output values.
func (s *Server) AlterCollectionFunction(ctx context.Context, req *milvuspb.AlterCollectionFunctionRequest) error {
	fn := req.GetFunctionSchema()
	if fn == nil {
		return errPlain("function schema is empty")
	}
	if fn.GetType() == schemapb.FunctionType_BM25 {
		return errPlain("currently does not support alter BM25 function")
	}
	if req.GetFunctionName() != fn.GetName() {
		return errPlain("invalid function config, name not match")
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	schema := proto.Clone(c.Schema).(*schemapb.CollectionSchema)
	found := false
	for i, f := range schema.GetFunctions() {
		if f.GetName() == req.GetFunctionName() {
			if f.GetType() == schemapb.FunctionType_BM25 {
				return errPlain("currently does not support alter BM25 function")
			}
			schema.Functions[i] = proto.Clone(fn).(*schemapb.FunctionSchema)
			found = true
		}
	}
	if !found {
		return errPlain("function %s not found", req.GetFunctionName())
	}
	if err := validateFunctions(schema); err != nil {
		return err
	}
	if err := s.checkFunctionsRuntime(ctx, c.DBName, schema, fn.GetName(), nil); err != nil {
		return err
	}
	next, err := s.d.Root.AlterCollectionFunction(ctx, c.DBName, c.Name, fn)
	if err != nil {
		return err
	}
	s.logger.Info("altered function", "collection", next.Name, "function", fn.GetName(), "version", next.Schema.GetVersion())
	return s.schemaChanged(ctx, next)
}

// DropCollectionFunction is dropCollectionFunctionTask: dropping a
// function the collection does not have succeeds; a BM25 function cannot
// be dropped; a dropped TextEmbedding function's output field stays as an
// ordinary vector field, which later writes must supply.
func (s *Server) DropCollectionFunction(ctx context.Context, req *milvuspb.DropCollectionFunctionRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	var fn *schemapb.FunctionSchema
	for _, f := range c.Schema.GetFunctions() {
		if f.GetName() == req.GetFunctionName() {
			fn = f
		}
	}
	if fn == nil {
		return nil
	}
	if fn.GetType() == schemapb.FunctionType_BM25 {
		return errPlain("currently does not support droping BM25 function")
	}
	next, err := s.d.Root.DropCollectionFunction(ctx, c.DBName, c.Name, fn.GetName())
	if err != nil {
		return err
	}
	s.logger.Info("dropped function", "collection", next.Name, "function", fn.GetName(), "version", next.Schema.GetVersion())
	return s.schemaChanged(ctx, next)
}
