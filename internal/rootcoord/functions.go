package rootcoord

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// startOfUserFunctionID is common.StartOfUserFunctionID.
const startOfUserFunctionID = 100

// AddCollectionFunction appends fn to a collection's functions (Milvus
// 2.6's broadcastAlterCollectionForAddFunction): its name must be new, its
// input and output fields must exist, and no other function may own its
// output field. It gets the next function ID, its fields' IDs and a new
// schema version; the rows already stored keep their output values (the
// function runs for later writes only). The caller validated fn against
// the schema.
func (s *Server) AddCollectionFunction(ctx context.Context, db, name string, fn *schemapb.FunctionSchema) (*model.Collection, error) {
	if fn == nil {
		return nil, errs.InvalidParameter("Function schema is empty")
	}
	return s.alterSchema(ctx, db, name, func(c *model.Collection) error {
		f := proto.Clone(fn).(*schemapb.FunctionSchema)
		next := int64(startOfUserFunctionID)
		for _, g := range c.Schema.GetFunctions() {
			if g.GetName() == f.GetName() {
				return errs.InvalidParameter("function name already exists: %s", g.GetName())
			}
			next = max(next, g.GetId()+1)
		}
		f.Id = next
		if err := bindFunctionFields(c, f); err != nil {
			return err
		}
		c.Schema.Functions = append(c.Schema.Functions, f)
		c.Schema.Version++
		return nil
	})
}

// AlterCollectionFunction replaces the function named fn.Name
// (alterFunctionGenNewCollection): it keeps its ID; the old function's
// outputs stop being function outputs before the new one's are bound.
func (s *Server) AlterCollectionFunction(ctx context.Context, db, name string, fn *schemapb.FunctionSchema) (*model.Collection, error) {
	if fn == nil {
		return nil, errs.Plain("function schema is empty")
	}
	return s.alterSchema(ctx, db, name, func(c *model.Collection) error {
		f := proto.Clone(fn).(*schemapb.FunctionSchema)
		var old *schemapb.FunctionSchema
		var rest []*schemapb.FunctionSchema
		for _, g := range c.Schema.GetFunctions() {
			if g.GetName() == f.GetName() {
				old = g
			} else {
				rest = append(rest, g)
			}
		}
		if old == nil {
			return errs.Plain("function %s not exists", f.GetName())
		}
		f.Id = old.GetId()
		for _, out := range old.GetOutputFieldNames() {
			field := c.Field(out)
			if field == nil {
				return errs.Plain("old version function's output field %s not exists", out)
			}
			field.IsFunctionOutput = false
		}
		if err := bindFunctionFields(c, f); err != nil {
			return err
		}
		c.Schema.Functions = append(rest, f)
		c.Schema.Version++
		return nil
	})
}

// DropCollectionFunction removes the function named fnName; its output
// field stays as an ordinary field with the values it holds. Dropping a
// function the collection does not have changes nothing.
func (s *Server) DropCollectionFunction(ctx context.Context, db, name, fnName string) (*model.Collection, error) {
	return s.alterSchema(ctx, db, name, func(c *model.Collection) error {
		var gone *schemapb.FunctionSchema
		var rest []*schemapb.FunctionSchema
		for _, g := range c.Schema.GetFunctions() {
			if g.GetName() == fnName {
				gone = g
			} else {
				rest = append(rest, g)
			}
		}
		if gone == nil {
			return errUnchanged
		}
		for _, id := range gone.GetOutputFieldIds() {
			field := c.FieldByID(id)
			if field == nil {
				return errs.Plain("function's output field %d not exists", id)
			}
			field.IsFunctionOutput = false
		}
		c.Schema.Functions = rest
		c.Schema.Version++
		return nil
	})
}

// bindFunctionFields fills f's input and output field IDs and marks its
// outputs, with Milvus's texts for a missing field or an output another
// function owns.
func bindFunctionFields(c *model.Collection, f *schemapb.FunctionSchema) error {
	f.InputFieldIds, f.OutputFieldIds = nil, nil
	for _, n := range f.GetInputFieldNames() {
		field := c.Field(n)
		if field == nil {
			return errs.Plain("function's input field %s not exists", n)
		}
		f.InputFieldIds = append(f.InputFieldIds, field.GetFieldID())
	}
	for _, n := range f.GetOutputFieldNames() {
		field := c.Field(n)
		if field == nil {
			return errs.Plain("function's output field %s not exists", n)
		}
		if field.GetIsFunctionOutput() {
			return errs.Plain("function's output field %s is already of other functions", n)
		}
		f.OutputFieldIds = append(f.OutputFieldIds, field.GetFieldID())
		field.IsFunctionOutput = true
	}
	return nil
}
