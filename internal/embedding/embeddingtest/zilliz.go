package embeddingtest

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // Milvus's client compresses its calls
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/rpc/modelservicepb"
)

// ZillizOptions shape a zilliz model server.
type ZillizOptions struct {
	// Dim is the embeddings' dimension; 0: 768.
	Dim int
	// Deployments are the model deployment IDs the server serves; a call
	// naming another (or none) is refused with NotFound, as the service
	// refuses an unknown deployment. Empty: any non-empty ID.
	Deployments []string
	// MaxTexts is the most texts or documents one call may carry; 0: 64.
	MaxTexts int
	// ShortHighlights makes Highlight answer one result fewer than the
	// documents it was sent, as a faulty deployment would: the answer
	// Milvus's semantic highlighter refuses.
	ShortHighlights bool
}

// ZillizCall is one call a zilliz model server received.
type ZillizCall struct {
	Method string // Embedding, Rerank or Highlight
	// Metadata is the call's instance-id, model-deployment-id and db-name.
	InstanceID, Deployment, DB string
	// Encoding is the call's grpc-encoding (gzip from Milvus's client).
	Encoding string
	Texts    []string // the texts or the documents
	Query    string
	Params   map[string]string
}

// ZillizServer is Milvus 2.6's gRPC model service (TextEmbeddingService,
// RerankService and HighlightService) for tests: embeddings are Embed's,
// little-endian float32 dense vectors; rerank scores are Score's, in the
// documents' order; highlights are Sentences'. It checks each call as the service does: the metadata naming the
// instance, a served deployment and the database; a document or query
// input_type for embeddings; texts present and at most MaxTexts.
type ZillizServer struct {
	modelservicepb.UnimplementedTextEmbeddingServiceServer
	modelservicepb.UnimplementedRerankServiceServer
	modelservicepb.UnimplementedHighlightServiceServer
	opts  ZillizOptions
	lis   net.Listener
	grpc  *grpc.Server
	mu    sync.Mutex
	calls []ZillizCall
}

// StartZilliz starts a zilliz model server on a free local port; Close
// stops it.
func StartZilliz(opts ZillizOptions) (*ZillizServer, error) {
	if opts.Dim <= 0 {
		opts.Dim = 768
	}
	if opts.MaxTexts <= 0 {
		opts.MaxTexts = 64
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &ZillizServer{opts: opts, lis: lis, grpc: grpc.NewServer(grpc.StatsHandler(encodingStats{}))}
	modelservicepb.RegisterTextEmbeddingServiceServer(s.grpc, s)
	modelservicepb.RegisterRerankServiceServer(s.grpc, s)
	modelservicepb.RegisterHighlightServiceServer(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

// Addr is the server's host:port (function.models.zilliz.endpoint).
func (s *ZillizServer) Addr() string { return s.lis.Addr().String() }

// Close stops the server.
func (s *ZillizServer) Close() { s.grpc.Stop() }

// Calls are the calls received so far, in order.
func (s *ZillizServer) Calls() []ZillizCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ZillizCall(nil), s.calls...)
}

// Embed is the server's embedding of text.
func (s *ZillizServer) Embed(text string) []float32 { return Embed(Tokens(text), s.opts.Dim) }

// Score is the server's rerank score of doc for query.
func (s *ZillizServer) Score(query, doc string) float32 {
	return score(s.Embed(query), s.Embed(doc))
}

// record checks and records a call's metadata.
func (s *ZillizServer) record(ctx context.Context, call ZillizCall) error {
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	call.InstanceID, call.Deployment, call.DB = first("instance-id"), first("model-deployment-id"), first("db-name")
	if enc, ok := ctx.Value(encodingKey{}).(*string); ok {
		call.Encoding = *enc
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	if call.InstanceID == "" || call.DB == "" {
		return status.Error(codes.InvalidArgument, "instance-id and db-name metadata are required")
	}
	served := call.Deployment != ""
	if served && len(s.opts.Deployments) > 0 {
		served = false
		for _, d := range s.opts.Deployments {
			served = served || d == call.Deployment
		}
	}
	if !served {
		return status.Errorf(codes.NotFound, "model deployment %q not found", call.Deployment)
	}
	if len(call.Texts) == 0 {
		return status.Error(codes.InvalidArgument, "no input texts")
	}
	if len(call.Texts) > s.opts.MaxTexts {
		return status.Errorf(codes.InvalidArgument, "too many inputs: %d > %d", len(call.Texts), s.opts.MaxTexts)
	}
	return nil
}

// Embedding answers one float32 dense vector per text.
func (s *ZillizServer) Embedding(ctx context.Context, req *modelservicepb.TextEmbeddingRequest) (*modelservicepb.TextEmbeddingResponse, error) {
	if err := s.record(ctx, ZillizCall{Method: "Embedding", Texts: req.GetTexts(), Params: req.GetParams()}); err != nil {
		return nil, err
	}
	if t := req.GetParams()["input_type"]; t != "document" && t != "query" {
		return nil, status.Errorf(codes.InvalidArgument, "input_type must be document or query, got %q", t)
	}
	resp := &modelservicepb.TextEmbeddingResponse{Status: &modelservicepb.Status{}}
	for _, t := range req.GetTexts() {
		v := s.Embed(t)
		data := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
		resp.Results = append(resp.Results, &modelservicepb.EmbeddingResult{Dense: &modelservicepb.DenseVector{
			Dtype: modelservicepb.DenseVector_DTYPE_FLOAT, Data: data, Dim: int32(len(v))}})
	}
	return resp, nil
}

// Rerank answers one score per document, in the documents' order.
func (s *ZillizServer) Rerank(ctx context.Context, req *modelservicepb.TextRerankRequest) (*modelservicepb.TextRerankResponse, error) {
	if err := s.record(ctx, ZillizCall{Method: "Rerank", Texts: req.GetDocuments(), Query: req.GetQuery(), Params: req.GetParams()}); err != nil {
		return nil, err
	}
	resp := &modelservicepb.TextRerankResponse{Status: &modelservicepb.Status{}}
	for _, d := range req.GetDocuments() {
		resp.Scores = append(resp.Scores, s.Score(req.GetQuery(), d))
	}
	return resp, nil
}

// Highlight answers, per document in order, Sentences of the document
// for the query (one result fewer with ShortHighlights).
func (s *ZillizServer) Highlight(ctx context.Context, req *modelservicepb.HighlightRequest) (*modelservicepb.HighlightResponse, error) {
	if err := s.record(ctx, ZillizCall{Method: "Highlight", Texts: req.GetDocuments(), Query: req.GetQuery(), Params: req.GetParams()}); err != nil {
		return nil, err
	}
	docs := req.GetDocuments()
	if s.opts.ShortHighlights {
		docs = docs[:len(docs)-1]
	}
	resp := &modelservicepb.HighlightResponse{Status: &modelservicepb.Status{}}
	for _, d := range docs {
		ss, sc := Sentences(req.GetQuery(), d)
		resp.Results = append(resp.Results, &modelservicepb.HighlightResult{Sentences: ss, Scores: sc})
	}
	return resp, nil
}

// Sentences are the sentences of doc (split at ". ") that share a word
// with query, each scored by the share of its words that are query words.
func Sentences(query, doc string) ([]string, []float32) {
	qw := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(query)) {
		qw[w] = true
	}
	ss, sc := []string{}, []float32{}
	for _, sentence := range strings.Split(doc, ". ") {
		words := strings.Fields(strings.ToLower(strings.TrimSuffix(sentence, ".")))
		n := 0
		for _, w := range words {
			if qw[w] {
				n++
			}
		}
		if n > 0 {
			ss, sc = append(ss, sentence), append(sc, float32(n)/float32(len(words)))
		}
	}
	return ss, sc
}

// encodingStats records each call's grpc-encoding (gRPC keeps it out of
// the metadata) in the call's context, for record.
type encodingStats struct{}

type encodingKey struct{}

func (encodingStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, encodingKey{}, new(string))
}

func (encodingStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		if enc, ok := ctx.Value(encodingKey{}).(*string); ok {
			*enc = h.Compression
		}
	}
}

func (encodingStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (encodingStats) HandleConn(context.Context, stats.ConnStats) {}
