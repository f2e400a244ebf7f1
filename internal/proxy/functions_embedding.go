package proxy

import (
	"context"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rerank"
)

// Milvus's collection properties about functions (pkg/common).
const (
	disableFuncRuntimeCheckKey   = "disable_func_runtime_check"
	allowInsertFunctionOutputKey = "collection.function.allowInsertNonBM25FunctionOutputs"
)

// checkFunctionsRuntime is the runtime half of Milvus's validateFunction
// (embedding.ValidateFunctions): every TextEmbedding function (or only
// the one named) is built and its service called once, unless the
// request's disable_func_runtime_check property is true.
func (s *Server) checkFunctionsRuntime(ctx context.Context, db string, schema *schemapb.CollectionSchema, only string, props []*commonpb.KeyValuePair) error {
	for _, p := range props {
		if p.GetKey() == disableFuncRuntimeCheckKey {
			off, err := strconv.ParseBool(p.GetValue())
			if err != nil {
				return errPlain("failed to parse disable_func_runtime_check param: %v", err)
			}
			if off {
				return nil
			}
		}
	}
	found := only == ""
	for _, fn := range schema.GetFunctions() {
		if only != "" && fn.GetName() != only {
			continue
		}
		found = true
		if fn.GetType() != schemapb.FunctionType_TextEmbedding {
			continue
		}
		f, err := s.models.NewTextEmbedding(db, schema, fn)
		if err != nil {
			return errPlain("%v", err)
		}
		if err := f.Check(ctx); err != nil {
			return errPlain("check function [%s:%s] failed, the err is: %v", fn.GetName(), fn.GetType(), err)
		}
	}
	if !found {
		return errPlain("function [%s] not found in schema", only)
	}
	return nil
}

// checkCreateFunctions runs the function checks of a CreateCollection
// request first, as Milvus's createCollectionTask.PreExecute does, so that
// an unreachable model service is reported before the other checks.
func (s *Server) checkCreateFunctions(ctx context.Context, db string, schemaBytes []byte, props []*commonpb.KeyValuePair) error {
	schema := &schemapb.CollectionSchema{}
	if err := proto.Unmarshal(schemaBytes, schema); err != nil {
		return nil // decodeCreateCollectionSchema reports it
	}
	hasEmbedding := false
	for _, fn := range schema.GetFunctions() {
		hasEmbedding = hasEmbedding || fn.GetType() == schemapb.FunctionType_TextEmbedding
	}
	if !hasEmbedding {
		return nil
	}
	if err := validateFunctions(schema); err != nil {
		return err
	}
	return s.checkFunctionsRuntime(ctx, db, schema, "", props)
}

// allowsFunctionOutputs is the collection's
// collection.function.allowInsertNonBM25FunctionOutputs property.
func allowsFunctionOutputs(c *model.Collection) bool {
	for _, p := range c.Properties {
		if p.GetKey() == allowInsertFunctionOutputKey {
			ok, _ := strconv.ParseBool(p.GetValue())
			return ok
		}
	}
	return false
}

// suppliedEmbeddingOutputs is Milvus's GetNeedProcessFunctions for
// TextEmbedding functions: a write carrying a function's output field is
// refused unless the collection allows it, and then the function is not
// run for that write. It returns the schema the write is checked against
// (the supplied outputs are ordinary fields there) and the functions to
// run.
func suppliedEmbeddingOutputs(c *model.Collection, schema *schemapb.CollectionSchema, fields []*schemapb.FieldData) (*schemapb.CollectionSchema, []*schemapb.FunctionSchema, error) {
	var run []*schemapb.FunctionSchema
	var supplied []string
	for _, fn := range schema.GetFunctions() {
		if fn.GetType() != schemapb.FunctionType_TextEmbedding {
			continue
		}
		given := false
		for _, fd := range fields {
			for _, out := range fn.GetOutputFieldNames() {
				given = given || fd.GetFieldName() == out
			}
		}
		if !given {
			run = append(run, fn)
			continue
		}
		if !allowsFunctionOutputs(c) {
			return nil, nil, errPlain("Insert data has function output field, but collection's property `collection.function.allowInsertNonBM25FunctionOutputs` is not enable")
		}
		supplied = append(supplied, fn.GetOutputFieldNames()...)
	}
	if len(supplied) == 0 {
		return schema, run, nil
	}
	schema = proto.Clone(schema).(*schemapb.CollectionSchema)
	for _, f := range schema.GetFields() {
		for _, name := range supplied {
			if f.GetName() == name {
				f.IsFunctionOutput = false
			}
		}
	}
	return schema, run, nil
}

// embeddingInsert computes the output columns of fns, the collection's
// TextEmbedding functions a write runs (Milvus's genFunctionFields, before
// the write's fields are validated): each input column's texts go to the
// model service, at most its batch at once, and the vectors are appended
// to fields as the output field's column. schema is returned with those
// outputs as ordinary fields, so the write is checked against it.
func (s *Server) embeddingInsert(ctx context.Context, db string, schema *schemapb.CollectionSchema, fns []*schemapb.FunctionSchema, fields []*schemapb.FieldData, n int) ([]*schemapb.FieldData, *schemapb.CollectionSchema, error) {
	if len(fns) == 0 {
		return fields, schema, nil
	}
	built := make([]*embedding.Function, len(fns))
	for i, fn := range fns {
		f, err := s.models.NewTextEmbedding(db, schema, fn)
		if err != nil {
			return nil, nil, errPlain("%v", err)
		}
		if n > f.MaxBatch() {
			return nil, nil, errPlain("numRows [%d] > function [%s]'s max batch [%d]", n, fn.GetName(), f.MaxBatch())
		}
		built[i] = f
	}
	out := append([]*schemapb.FieldData(nil), fields...)
	var computed []string
	for i, fn := range fns {
		var in *schemapb.FieldData
		for _, fd := range fields {
			if len(fn.GetInputFieldNames()) == 1 && fd.GetFieldName() == fn.GetInputFieldNames()[0] {
				in = fd
			}
		}
		if in == nil {
			return nil, nil, errPlain("[input field not found]")
		}
		if t := in.GetType(); t != schemapb.DataType_VarChar && t != schemapb.DataType_Text {
			return nil, nil, errPlain("[text embedding only supports varchar or text field as input field, but got %s]", t)
		}
		vecs, err := built[i].Insert(ctx, in.GetScalars().GetStringData().GetData())
		if err != nil {
			return nil, nil, errPlain("[%v]", err)
		}
		f := built[i].Output()
		out = append(out, embeddingColumn(f, vecs))
		computed = append(computed, f.GetName())
	}
	schema = proto.Clone(schema).(*schemapb.CollectionSchema)
	for _, f := range schema.GetFields() {
		for _, name := range computed {
			if f.GetName() == name {
				f.IsFunctionOutput = false
			}
		}
	}
	return out, schema, nil
}

// embeddingColumn is Milvus's packToFieldData: the vectors as the output
// field's column (FloatVector, or Int8Vector from int8 models).
func embeddingColumn(f *schemapb.FieldSchema, vecs embedding.Vectors) *schemapb.FieldData {
	dim := vectorDim(f)
	vf := &schemapb.VectorField{Dim: dim}
	if vecs.Int8 != nil {
		data := make([]byte, 0, len(vecs.Int8)*int(dim))
		for _, v := range vecs.Int8 {
			for _, x := range v {
				data = append(data, byte(x))
			}
		}
		vf.Data = &schemapb.VectorField_Int8Vector{Int8Vector: data}
	} else {
		data := make([]float32, 0, len(vecs.Float)*int(dim))
		for _, v := range vecs.Float {
			data = append(data, v...)
		}
		vf.Data = &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: data}}
	}
	return &schemapb.FieldData{Type: vecs.Type(), FieldName: f.GetName(), FieldId: f.GetFieldID(),
		Field: &schemapb.FieldData_Vectors{Vectors: vf}}
}

func vectorDim(f *schemapb.FieldSchema) int64 {
	for _, p := range f.GetTypeParams() {
		if p.GetKey() == "dim" {
			d, _ := strconv.ParseInt(p.GetValue(), 10, 64)
			return d
		}
	}
	return 0
}

// embeddingOutput is the TextEmbedding function whose output field is
// the search's anns field, if any.
func embeddingOutput(schema *schemapb.CollectionSchema, params []*commonpb.KeyValuePair) *schemapb.FunctionSchema {
	name, _ := kvLookup(params, annsFieldKey)
	if name == "" {
		var vecs []string
		for _, f := range schema.GetFields() {
			if column.IsVector(f.GetDataType()) || f.GetDataType() == schemapb.DataType_ArrayOfVector {
				vecs = append(vecs, f.GetName())
			}
		}
		if len(vecs) != 1 {
			return nil
		}
		name = vecs[0]
	}
	for _, fn := range schema.GetFunctions() {
		if fn.GetType() != schemapb.FunctionType_TextEmbedding {
			continue
		}
		for _, out := range fn.GetOutputFieldNames() {
			if out == name {
				return fn
			}
		}
	}
	return nil
}

// embedSearchTexts replaces the query texts of a search against a
// TextEmbedding function's output field by their embeddings (Milvus's
// FunctionExecutor.ProcessSearch); a placeholder of vectors is left as
// it is. It returns the placeholder group to search with.
func (s *Server) embedSearchTexts(ctx context.Context, db string, schema *schemapb.CollectionSchema, params []*commonpb.KeyValuePair, nq int64, group []byte) ([]byte, error) {
	fn := embeddingOutput(schema, params)
	if fn == nil {
		return group, nil
	}
	f, err := s.models.NewTextEmbedding(db, schema, fn)
	if err != nil {
		return nil, errPlain("%v", err)
	}
	if nq > int64(f.MaxBatch()) {
		return nil, errPlain("nq [%d] > function [%s]'s max batch [%d]", nq, fn.GetName(), f.MaxBatch())
	}
	pg := &commonpb.PlaceholderGroup{}
	if err := proto.Unmarshal(group, pg); err != nil {
		return group, nil // parseSearchRequest reports it
	}
	if len(pg.GetPlaceholders()) != 1 {
		return nil, errInvalidMsg("No placeholders founded")
	}
	ph := pg.GetPlaceholders()[0]
	if ph.GetType() != commonpb.PlaceholderType_VarChar {
		return group, nil
	}
	texts := make([]string, len(ph.GetValues()))
	for i, v := range ph.GetValues() {
		texts[i] = string(v)
	}
	vecs, err := f.Search(ctx, texts)
	if err != nil {
		return nil, errPlain("%v", err)
	}
	values := make([][]byte, 0, vecs.Len())
	typ := commonpb.PlaceholderType_FloatVector
	for _, v := range vecs.Float {
		b := make([]byte, 4*len(v))
		for j, x := range v {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		values = append(values, b)
	}
	if vecs.Int8 != nil {
		typ = commonpb.PlaceholderType_Int8Vector
		for _, v := range vecs.Int8 {
			b := make([]byte, len(v))
			for j, x := range v {
				b[j] = byte(x)
			}
			values = append(values, b)
		}
	}
	return proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{
		Tag: ph.GetTag(), Type: typ, Values: values,
	}}})
}

// embedSearchRequest is embedSearchTexts for a plain Search request: a
// copy of req with the embedded placeholder group, or req itself.
func (s *Server) embedSearchRequest(ctx context.Context, db string, schema *schemapb.CollectionSchema, req *milvuspb.SearchRequest) (*milvuspb.SearchRequest, error) {
	if embeddingOutput(schema, req.GetSearchParams()) == nil {
		return req, nil
	}
	nq := req.GetNq()
	if nq == 0 {
		nq = placeholderCount(req.GetPlaceholderGroup())
	}
	group, err := s.embedSearchTexts(ctx, db, schema, req.GetSearchParams(), nq, req.GetPlaceholderGroup())
	if err != nil {
		return nil, err
	}
	out := proto.Clone(req).(*milvuspb.SearchRequest)
	out.SearchInput = &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: group}
	return out, nil
}

// rerankModels adapts the model service to the rerank package, for a
// search in the database db.
func (s *Server) rerankModels(db string) rerank.ModelProviders {
	return func(params []*commonpb.KeyValuePair) (rerank.ModelProvider, error) {
		p, err := s.models.NewRerankProvider(params, db)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// highlightModels adapts the model service to semantic highlighters.
func (s *Server) highlightModels() HighlightModels {
	return func(params []*commonpb.KeyValuePair, db string) (embedding.HighlightProvider, error) {
		return s.models.NewHighlightProvider(params, db)
	}
}
