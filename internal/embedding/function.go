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
	// embed embeds texts, at most clientBatch of them, as vectors of the
	// output field's type when the provider has it (Int8 for an
	// Int8Vector field: voyageai, cohere), else as floats.
	embed(ctx context.Context, texts []string, mode Mode) (Vectors, error)
}

// Vectors are a model's embeddings: Float, or Int8 when the model
// answered int8 vectors (exactly one of them is set).
type Vectors struct {
	Float [][]float32
	Int8  [][]int8
}

// floats wraps float embeddings.
func floats(v [][]float32) Vectors { return Vectors{Float: v} }

// Len is the number of vectors.
func (v Vectors) Len() int {
	if v.Int8 != nil {
		return len(v.Int8)
	}
	return len(v.Float)
}

// Type is the vector type the model answered.
func (v Vectors) Type() schemapb.DataType {
	if v.Int8 != nil {
		return schemapb.DataType_Int8Vector
	}
	return schemapb.DataType_FloatVector
}

func (v Vectors) dim(i int) int {
	if v.Int8 != nil {
		return len(v.Int8[i])
	}
	return len(v.Float[i])
}

func (v *Vectors) append(w Vectors) {
	if w.Int8 != nil {
		v.Int8 = append(v.Int8, w.Int8...)
		return
	}
	v.Float = append(v.Float, w.Float...)
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

// NewTextEmbedding builds fn, a TextEmbedding function of coll in the
// database db, as Milvus's NewTextEmbeddingFunction: provider enabled and
// known, the provider's parameters valid. It calls no service (Check
// does). db is the database the zilliz provider names to its service.
func (s *Service) NewTextEmbedding(db string, coll *schemapb.CollectionSchema, fn *schemapb.FunctionSchema) (*Function, error) {
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
	case cohereProvider:
		f.client, err = s.newCohereEmbedder(output, dim, fn, conf)
	case voyageAIProvider:
		f.client, err = s.newVoyageAIEmbedder(output, dim, fn, conf)
	case dashscopeProvider:
		f.client, err = s.newDashscopeEmbedder(output, dim, fn, conf)
	case geminiProvider:
		f.client, err = s.newGeminiEmbedder(output, dim, fn, conf)
	case bedrockProvider:
		f.client, err = s.newBedrockEmbedder(output, dim, fn, conf)
	case vertexAIProvider:
		f.client, err = s.newVertexAIEmbedder(output, dim, fn, conf)
	case zillizProvider:
		f.client, err = s.newZillizEmbedder(db, fn)
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
//
// Milvus's zilliz provider, alone, leaves the dimension to this check, so
// a zilliz model of another dimension fails here with Check's own text.
func (f *Function) Check(ctx context.Context) error {
	vecs, err := f.call(ctx, []string{"check"}, InsertMode, f.provider != zillizProvider)
	if err != nil {
		return err
	}
	if t := vecs.Type(); t != f.output.GetDataType() {
		return fmt.Errorf("embedding model output and field type mismatch, model output is %s, field type is %s", t, f.output.GetDataType())
	}
	if vecs.Len() != 1 {
		return fmt.Errorf("the dim set in the schema is inconsistent with the dim of the model, dim in schema is %d, dim of model is %d", f.dim, 0)
	}
	if d := vecs.dim(0); d != int(f.dim) {
		return fmt.Errorf("the dim set in the schema is inconsistent with the dim of the model, dim in schema is %d, dim of model is %d", f.dim, d)
	}
	return nil
}

// Insert embeds the documents of an insert (ProcessInsert): every text
// must be non-empty, and at most MaxBatch of them.
func (f *Function) Insert(ctx context.Context, texts []string) (Vectors, error) {
	if texts == nil {
		return Vectors{}, errors.New("input texts is empty")
	}
	if hasEmpty(texts) {
		return Vectors{}, errors.New("there is an empty string in the input data, TextEmbedding function does not support empty text")
	}
	if len(texts) > f.batch {
		return Vectors{}, fmt.Errorf("embedding supports up to [%d] pieces of data at a time, got [%d]", f.batch, len(texts))
	}
	return f.embed(ctx, texts, InsertMode)
}

// Search embeds the query texts of a search (ProcessSearch).
func (f *Function) Search(ctx context.Context, texts []string) (Vectors, error) {
	if len(texts) > f.batch {
		return Vectors{}, fmt.Errorf("embedding supports up to [%d] pieces of data at a time, got [%d]", f.batch, len(texts))
	}
	if hasEmpty(texts) {
		return Vectors{}, errors.New("there is an empty string in the queries, TextEmbedding function does not support empty text")
	}
	return f.embed(ctx, texts, SearchMode)
}

// embed embeds texts into the output field's type. Every provider but
// zilliz checks the dimension of each vector; Milvus's zilliz provider
// passes the model's vectors as they are, so a model of another dimension
// is refused later, by the write's column checks ("the num_rows (2) of
// field (vec) is not equal to passed num_rows (1)") or the search's
// placeholder check ("vector dimension mismatch, ...").
func (f *Function) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	vecs, err := f.call(ctx, texts, mode, f.provider != zillizProvider)
	if err != nil {
		return Vectors{}, err
	}
	if vecs.Type() != f.output.GetDataType() {
		return Vectors{}, fmt.Errorf("text embedding function doesn't support %s vector", f.output.GetDataType())
	}
	return vecs, nil
}

// call sends texts one client batch at a time and checks the number and,
// with checkDim, the dimension of the vectors (the providers'
// CallEmbedding).
func (f *Function) call(ctx context.Context, texts []string, mode Mode, checkDim bool) (Vectors, error) {
	var out Vectors
	step := f.client.clientBatch()
	for i := 0; i < len(texts); i += step {
		end := min(i+step, len(texts))
		vecs, err := f.client.embed(ctx, texts[i:end], mode)
		if err != nil {
			return Vectors{}, err
		}
		if vecs.Len() != end-i {
			return Vectors{}, fmt.Errorf("get embedding failed, the number of texts and embeddings does not match text:[%d], embedding:[%d]", end-i, vecs.Len())
		}
		for j := range vecs.Len() {
			if d := vecs.dim(j); checkDim && d != int(f.dim) {
				return Vectors{}, fmt.Errorf("the required embedding dim is [%d], but the embedding obtained from the model is [%d]", f.dim, d)
			}
		}
		out.append(vecs)
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
