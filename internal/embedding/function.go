package embedding

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Mode says whether texts are documents (insert) or queries (search): TEI
// prefixes them with the ingestion or the search prompt.
type Mode int

// Modes.
const (
	InsertMode Mode = iota
	SearchMode
)

// embedder is one provider's client.
type embedder interface {
	// clientBatch is the most texts one request carries.
	clientBatch() int
	// embed embeds texts, at most clientBatch of them.
	embed(ctx context.Context, texts []string, mode Mode) ([][]float32, error)
}

// Function is a collection's text_embedding function: it turns the input
// VarChar field's texts into the output vector field's vectors.
type Function struct {
	name     string
	provider string
	output   *schemapb.FieldSchema
	dim      int64
	batch    int // the most texts one insert or search may carry
	client   embedder
}

// InputsCheck is Milvus's TextEmbeddingInputsCheck.
func InputsCheck(name string, fields []*schemapb.FieldSchema) error {
	if len(fields) != 1 || (fields[0].GetDataType() != schemapb.DataType_VarChar && fields[0].GetDataType() != schemapb.DataType_Text) {
		return errors.New("TextEmbedding function input field must be a VARCHAR/TEXT field")
	}
	if fields[0].GetNullable() {
		return fmt.Errorf("function input field cannot be nullable: function %s, field %s", name, fields[0].GetName())
	}
	return nil
}

// OutputsCheck is Milvus's TextEmbeddingOutputsCheck.
func OutputsCheck(fields []*schemapb.FieldSchema) error {
	if len(fields) != 1 || (fields[0].GetDataType() != schemapb.DataType_FloatVector && fields[0].GetDataType() != schemapb.DataType_Int8Vector) {
		return errors.New("TextEmbedding function output field must be a FloatVector or Int8Vector field")
	}
	return nil
}

// NewTextEmbedding builds fn, a TextEmbedding function of coll, as
// Milvus's NewTextEmbeddingFunction: provider enabled and known, the
// provider's parameters valid. It calls no service (Check does).
func (s *Service) NewTextEmbedding(coll *schemapb.CollectionSchema, fn *schemapb.FunctionSchema) (*Function, error) {
	if n := len(fn.GetOutputFieldNames()); n != 1 {
		return nil, fmt.Errorf("text function should only have one output field, but now is %d", n)
	}
	var output *schemapb.FieldSchema
	for _, f := range coll.GetFields() {
		if f.GetName() == fn.GetOutputFieldNames()[0] {
			output = f
			break
		}
	}
	if output == nil {
		return nil, fmt.Errorf("the collection [%s]'s information is wrong, function [%s]'s outputs does not match the schema", coll.GetName(), fn.GetName())
	}
	provider, found := "", false
	for _, p := range fn.GetParams() {
		if strings.ToLower(p.GetKey()) == providerParam {
			provider, found = strings.ToLower(p.GetValue()), true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("the text embedding service provider parameter:[%s] was not found", providerParam)
	}
	if err := OutputsCheck([]*schemapb.FieldSchema{output}); err != nil {
		return nil, err
	}
	conf := s.cfg.TextEmbedding[provider]
	if conf.Disabled {
		return nil, fmt.Errorf("text embedding model provider [%s] is disabled", provider)
	}
	dim, err := fieldDim(output)
	if err != nil {
		return nil, err
	}
	f := &Function{name: fn.GetName(), provider: provider, output: output, dim: dim}
	switch provider {
	case teiProvider:
		f.client, err = s.newTEIEmbedder(fn, conf)
	case openAIProvider, azureOpenAIProvider, siliconflowProvider:
		f.client, err = s.newOpenAIEmbedder(provider, output, dim, fn, conf)
	default:
		if !contains(milvusEmbeddingProviders, provider) {
			return nil, fmt.Errorf("unsupported text embedding service provider: [%s] , list of supported [%s]", provider, strings.Join(milvusEmbeddingProviders, ", "))
		}
		// Milvus 2.6 has the provider; Milvago does not speak its API.
		return nil, fmt.Errorf("text embedding model provider [%s] is disabled", provider)
	}
	if err != nil {
		return nil, err
	}
	f.batch = s.cfg.BatchFactor * f.client.clientBatch()
	return f, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fieldDim is typeutil.GetDim.
func fieldDim(f *schemapb.FieldSchema) (int64, error) {
	for _, p := range f.GetTypeParams() {
		if p.GetKey() == dimParam {
			d, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid dimension: %s", p.GetValue())
			}
			return d, nil
		}
	}
	return 0, fmt.Errorf("dim not found")
}

// Name is the function's name.
func (f *Function) Name() string { return f.name }

// Provider is the function's provider.
func (f *Function) Provider() string { return f.provider }

// Output is the function's output field.
func (f *Function) Output() *schemapb.FieldSchema { return f.output }

// MaxBatch is the most texts one insert or search may carry.
func (f *Function) MaxBatch() int { return f.batch }

// Check calls the service once, as Milvus does when a collection with the
// function is created: the model must answer with vectors of the output
// field's type and dimension.
func (f *Function) Check(ctx context.Context) error {
	vecs, err := f.call(ctx, []string{"check"}, InsertMode)
	if err != nil {
		return err
	}
	if f.output.GetDataType() != schemapb.DataType_FloatVector {
		return fmt.Errorf("embedding model output and field type mismatch, model output is %s, field type is %s", schemapb.DataType_FloatVector, f.output.GetDataType())
	}
	if len(vecs) != 1 {
		return fmt.Errorf("the dim set in the schema is inconsistent with the dim of the model, dim in schema is %d, dim of model is %d", f.dim, 0)
	}
	return nil
}

// Insert embeds the documents of an insert (ProcessInsert): every text
// must be non-empty, and at most MaxBatch of them.
func (f *Function) Insert(ctx context.Context, texts []string) ([][]float32, error) {
	if texts == nil {
		return nil, errors.New("input texts is empty")
	}
	if hasEmpty(texts) {
		return nil, errors.New("there is an empty string in the input data, TextEmbedding function does not support empty text")
	}
	if len(texts) > f.batch {
		return nil, fmt.Errorf("embedding supports up to [%d] pieces of data at a time, got [%d]", f.batch, len(texts))
	}
	return f.embed(ctx, texts, InsertMode)
}

// Search embeds the query texts of a search (ProcessSearch).
func (f *Function) Search(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) > f.batch {
		return nil, fmt.Errorf("embedding supports up to [%d] pieces of data at a time, got [%d]", f.batch, len(texts))
	}
	if hasEmpty(texts) {
		return nil, errors.New("there is an empty string in the queries, TextEmbedding function does not support empty text")
	}
	return f.embed(ctx, texts, SearchMode)
}

// embed embeds texts into the output field's type.
func (f *Function) embed(ctx context.Context, texts []string, mode Mode) ([][]float32, error) {
	if f.output.GetDataType() != schemapb.DataType_FloatVector {
		return nil, fmt.Errorf("text embedding function doesn't support %s vector", f.output.GetDataType())
	}
	return f.call(ctx, texts, mode)
}

// call sends texts one client batch at a time and checks the number and
// the dimension of the vectors (the providers' CallEmbedding).
func (f *Function) call(ctx context.Context, texts []string, mode Mode) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	step := f.client.clientBatch()
	for i := 0; i < len(texts); i += step {
		end := min(i+step, len(texts))
		vecs, err := f.client.embed(ctx, texts[i:end], mode)
		if err != nil {
			return nil, err
		}
		if len(vecs) != end-i {
			return nil, fmt.Errorf("get embedding failed, the number of texts and embeddings does not match text:[%d], embedding:[%d]", end-i, len(vecs))
		}
		for _, v := range vecs {
			if len(v) != int(f.dim) {
				return nil, fmt.Errorf("the required embedding dim is [%d], but the embedding obtained from the model is [%d]", f.dim, len(v))
			}
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func hasEmpty(texts []string) bool {
	for _, t := range texts {
		if t == "" {
			return true
		}
	}
	return false
}
