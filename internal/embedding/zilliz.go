package embedding

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the gzip compressor Milvus's client sends with
	"google.golang.org/grpc/metadata"

	"github.com/milvago/milvago/internal/rpc/modelservicepb"
)

// ZillizConfig is function.models.zilliz.*: the gRPC model service Milvus
// 2.6's "zilliz" provider calls: text embedding functions, model
// rerankers and semantic highlighters (their only provider).
type ZillizConfig struct {
	Endpoint           string // host:port; empty: not configured
	EnableTLS          bool
	CertFile           string // CA certificate (PEM) when EnableTLS
	ServerNameOverride string
	// InstanceID is the instance-id metadata of each call: Milvus sends
	// its common.clusterPrefix; empty: "by-dev", Milvus's default.
	InstanceID string
}

// HighlightProvider picks, for each document, the sentences that answer a
// query, with their scores (Milvus's semanticHighlightProvider).
type HighlightProvider interface {
	// MaxBatch is the provider's max_client_batch_size.
	MaxBatch() int
	// Highlight returns one list of sentences and one of their scores per
	// document, in docs' order.
	Highlight(ctx context.Context, query string, docs []string) ([][]string, [][]float32, error)
}

const modelDeploymentIDParam = "model_deployment_id"

// zillizConns shares one connection per endpoint, as Milvus's client
// manager does.
var zillizConns struct {
	sync.Mutex
	byEndpoint map[string]*grpc.ClientConn
}

func (c ZillizConfig) conn() (*grpc.ClientConn, error) {
	if c.Endpoint == "" {
		return nil, fmt.Errorf("zilliz client config error, lost endpoint config")
	}
	zillizConns.Lock()
	defer zillizConns.Unlock()
	key := fmt.Sprintf("%s|%t|%s|%s", c.Endpoint, c.EnableTLS, c.CertFile, c.ServerNameOverride)
	if conn, ok := zillizConns.byEndpoint[key]; ok {
		return conn, nil
	}
	creds := insecure.NewCredentials()
	if c.EnableTLS {
		var err error
		if creds, err = credentials.NewClientTLSFromFile(c.CertFile, c.ServerNameOverride); err != nil {
			return nil, fmt.Errorf("connect model serving failed, err:%w", err)
		}
	}
	conn, err := grpc.NewClient(c.Endpoint, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(100<<20), grpc.MaxCallSendMsgSize(100<<20),
			grpc.UseCompressor("gzip")))
	if err != nil {
		return nil, fmt.Errorf("connect model serving failed, err:%w", err)
	}
	if zillizConns.byEndpoint == nil {
		zillizConns.byEndpoint = map[string]*grpc.ClientConn{}
	}
	zillizConns.byEndpoint[key] = conn
	return conn, nil
}

// zillizClient is Milvus's ZillizClient: one model deployment on the
// shared connection, named in each call's metadata with the instance (the
// cluster prefix) and the database of the request.
type zillizClient struct {
	conn                *grpc.ClientConn
	deployment, cluster string
	db                  string
	timeout             time.Duration
}

// newZillizClient is Milvus's NewZilliClient: the connection to the
// configured endpoint, for deployment and db.
func (s *Service) newZillizClient(deployment, db string) (zillizClient, error) {
	conn, err := s.cfg.Zilliz.conn()
	if err != nil {
		return zillizClient{}, err
	}
	cluster := s.cfg.Zilliz.InstanceID
	if cluster == "" {
		cluster = "by-dev"
	}
	return zillizClient{conn: conn, deployment: deployment, cluster: cluster, db: db, timeout: s.cfg.Timeout}, nil
}

// call is ctx with the call's metadata (setMeta) and deadline.
func (c zillizClient) call(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(
		"instance-id", c.cluster, "model-deployment-id", c.deployment, "db-name", c.db))
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return ctx, func() {}
}

// embed is ZillizClient.Embedding: one float32 vector per text, read from
// each result's little-endian dense bytes.
func (c zillizClient) embed(ctx context.Context, texts []string, params map[string]string) ([][]float32, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	res, err := modelservicepb.NewTextEmbeddingServiceClient(c.conn).Embedding(ctx,
		&modelservicepb.TextEmbeddingRequest{Texts: texts, Params: params})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(res.GetResults()))
	for i, r := range res.GetResults() {
		data := r.GetDense().GetData()
		if r.GetDense() == nil || len(data)%4 != 0 {
			return nil, fmt.Errorf("zilliz embedding result %d is not a float32 dense vector (%d bytes)", i, len(data))
		}
		v := make([]float32, len(data)/4)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*j:]))
		}
		out = append(out, v)
	}
	return out, nil
}

// zillizParams splits a function's params as Milvus's zilliz providers
// do: model_deployment_id (and, when batch is not nil,
// max_client_batch_size) are read; every other param goes to the model as
// given.
func zillizParams(params []*commonpb.KeyValuePair, batch *int) (string, map[string]string, error) {
	deployment, model := "", map[string]string{}
	for _, p := range params {
		switch key := strings.ToLower(p.GetKey()); {
		case key == modelDeploymentIDParam:
			deployment = p.GetValue()
		case key == maxClientBatchSizeParam && batch != nil:
			n, err := parseMaxBatch(p.GetValue())
			if err != nil {
				return "", nil, err
			}
			*batch = n
		default:
			model[p.GetKey()] = p.GetValue()
		}
	}
	return deployment, model, nil
}

// zillizEmbedder is Milvus's ZillizEmbeddingProvider.
type zillizEmbedder struct {
	c      zillizClient
	params map[string]string
}

// newZillizEmbedder is Milvus's NewZillizEmbeddingProvider: every
// function param but model_deployment_id is sent to the model, 64 texts
// a call.
func (s *Service) newZillizEmbedder(db string, fn *schemapb.FunctionSchema) (*zillizEmbedder, error) {
	deployment, params, err := zillizParams(fn.GetParams(), nil)
	if err != nil {
		return nil, err
	}
	c, err := s.newZillizClient(deployment, db)
	if err != nil {
		return nil, err
	}
	return &zillizEmbedder{c: c, params: params}, nil
}

func (e *zillizEmbedder) clientBatch() int { return 64 }

// embed sends the params with input_type document (insert) or query
// (search), as Milvus's CallEmbedding.
func (e *zillizEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	params := make(map[string]string, len(e.params)+1)
	for k, v := range e.params {
		params[k] = v
	}
	params["input_type"] = "document"
	if mode == SearchMode {
		params["input_type"] = "query"
	}
	vecs, err := e.c.embed(ctx, texts, params)
	if err != nil {
		return Vectors{}, err
	}
	return floats(vecs), nil
}

// zillizReranker is Milvus's zillzProvider.
type zillizReranker struct {
	c      zillizClient
	params map[string]string
	batch  int
}

// newZillizReranker is Milvus's newZillizProvider: max_client_batch_size
// (64) and model_deployment_id are read, the other params are sent.
func (s *Service) newZillizReranker(params []*commonpb.KeyValuePair, db string) (*zillizReranker, error) {
	r := &zillizReranker{batch: 64}
	deployment, model, err := zillizParams(params, &r.batch)
	if err != nil {
		return nil, err
	}
	if r.c, err = s.newZillizClient(deployment, db); err != nil {
		return nil, err
	}
	r.params = model
	return r, nil
}

func (r *zillizReranker) MaxBatch() int { return r.batch }

// Rerank is ZillizClient.Rerank: the model's scores, in docs' order.
func (r *zillizReranker) Rerank(ctx context.Context, query string, docs []string) ([]float32, error) {
	ctx, cancel := r.c.call(ctx)
	defer cancel()
	res, err := modelservicepb.NewRerankServiceClient(r.c.conn).Rerank(ctx,
		&modelservicepb.TextRerankRequest{Query: query, Documents: docs, Params: r.params})
	if err != nil {
		return nil, err
	}
	return res.GetScores(), nil
}

// zillizHighlighter is Milvus's zillizHighlightProvider.
type zillizHighlighter struct {
	c      zillizClient
	batch  int
	params map[string]string
}

// NewHighlightProvider builds a semantic highlighter's provider from the
// highlighter's params, as Milvus's newZillizHighlightProvider:
// model_deployment_id and max_client_batch_size are read, every other
// param is passed to the model; the instance ID and db name the caller in
// the request's metadata.
func (s *Service) NewHighlightProvider(params []*commonpb.KeyValuePair, db string) (HighlightProvider, error) {
	h := &zillizHighlighter{batch: 64, params: map[string]string{}}
	deployment := ""
	for _, p := range params {
		switch strings.ToLower(p.GetKey()) {
		case modelDeploymentIDParam:
			deployment = p.GetValue()
		case maxClientBatchSizeParam:
			n, err := strconv.Atoi(p.GetValue())
			if err != nil {
				return nil, err
			}
			h.batch = n
		default:
			h.params[p.GetKey()] = p.GetValue()
		}
	}
	c, err := s.newZillizClient(deployment, db)
	if err != nil {
		return nil, err
	}
	h.c = c
	return h, nil
}

func (h *zillizHighlighter) MaxBatch() int { return h.batch }

// Highlight is Milvus's ZillizClient.Highlight.
func (h *zillizHighlighter) Highlight(ctx context.Context, query string, docs []string) ([][]string, [][]float32, error) {
	ctx, cancel := h.c.call(ctx)
	defer cancel()
	res, err := modelservicepb.NewHighlightServiceClient(h.c.conn).Highlight(ctx,
		&modelservicepb.HighlightRequest{Query: query, Documents: docs, Params: h.params})
	if err != nil {
		return nil, nil, err
	}
	sentences := make([][]string, 0, len(res.GetResults()))
	scores := make([][]float32, 0, len(res.GetResults()))
	for _, r := range res.GetResults() {
		ss, sc := r.GetSentences(), r.GetScores()
		if ss == nil {
			ss = []string{}
		}
		if sc == nil {
			sc = []float32{}
		}
		if len(ss) != len(sc) {
			return nil, nil, fmt.Errorf("sentences length %d does not match scores length %d", len(ss), len(sc))
		}
		sentences = append(sentences, ss)
		scores = append(scores, sc)
	}
	return sentences, scores, nil
}
