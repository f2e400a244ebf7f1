package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

// AddCollectionFunction is Milvus 2.6's addCollectionFunctionTask: a BM25
// function cannot be added to an existing collection; a TextEmbedding
// function is validated against the schema and its service called, then
// refused: Milvago cannot yet store a function on an existing collection
// (nor compute the new output for the rows already stored).
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
	schema.Functions = append(schema.Functions, fn)
	if err := validateFunctions(schema); err != nil {
		return err
	}
	if err := s.checkFunctionsRuntime(ctx, schema, fn.GetName(), nil); err != nil {
		return err
	}
	return errInvalidMsg("adding function %s to an existing collection is not supported by Milvago", fn.GetName())
}

// AlterCollectionFunction is alterCollectionFunctionTask: BM25 functions
// cannot be altered; a valid TextEmbedding change is refused (Milvago
// cannot yet store it).
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
			schema.Functions[i] = fn
			found = true
		}
	}
	if !found {
		return errPlain("function %s not exists", req.GetFunctionName())
	}
	if err := validateFunctions(schema); err != nil {
		return err
	}
	if err := s.checkFunctionsRuntime(ctx, schema, fn.GetName(), nil); err != nil {
		return err
	}
	return errInvalidMsg("altering function %s of an existing collection is not supported by Milvago", fn.GetName())
}

// DropCollectionFunction is dropCollectionFunctionTask: dropping a
// function the collection does not have succeeds; a BM25 function cannot
// be dropped.
func (s *Server) DropCollectionFunction(ctx context.Context, req *milvuspb.DropCollectionFunctionRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	for _, f := range c.Schema.GetFunctions() {
		if f.GetName() == req.GetFunctionName() {
			if f.GetType() == schemapb.FunctionType_BM25 {
				return errPlain("currently does not support droping BM25 function")
			}
			return errInvalidMsg("function %s of type %s cannot be dropped by Milvago", f.GetName(), f.GetType())
		}
	}
	return nil
}
