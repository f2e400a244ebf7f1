package embedding

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/milvago/milvago/internal/rpc/modelservicepb"
)

// ZillizConfig is function.models.zilliz.*: the gRPC model service Milvus
// 2.6's "zilliz" provider calls (its semantic highlighter's only provider).
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
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(100<<20), grpc.MaxCallSendMsgSize(100<<20)))
	if err != nil {
		return nil, fmt.Errorf("connect model serving failed, err:%w", err)
	}
	if zillizConns.byEndpoint == nil {
		zillizConns.byEndpoint = map[string]*grpc.ClientConn{}
	}
	zillizConns.byEndpoint[key] = conn
	return conn, nil
}

// zillizHighlighter is Milvus's zillizHighlightProvider.
type zillizHighlighter struct {
	conn                *grpc.ClientConn
	deployment, cluster string
	db                  string
	batch               int
	params              map[string]string
	timeout             time.Duration
}

// NewHighlightProvider builds a semantic highlighter's provider from the
// highlighter's params, as Milvus's newZillizHighlightProvider:
// model_deployment_id and max_client_batch_size are read, every other
// param is passed to the model; the instance ID and db name the caller in
// the request's metadata.
func (s *Service) NewHighlightProvider(params []*commonpb.KeyValuePair, db string) (HighlightProvider, error) {
	cluster := s.cfg.Zilliz.InstanceID
	if cluster == "" {
		cluster = "by-dev"
	}
	h := &zillizHighlighter{cluster: cluster, db: db, batch: 64, params: map[string]string{}, timeout: s.cfg.Timeout}
	for _, p := range params {
		switch strings.ToLower(p.GetKey()) {
		case modelDeploymentIDParam:
			h.deployment = p.GetValue()
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
	conn, err := s.cfg.Zilliz.conn()
	if err != nil {
		return nil, err
	}
	h.conn = conn
	return h, nil
}

func (h *zillizHighlighter) MaxBatch() int { return h.batch }

// Highlight is Milvus's ZillizClient.Highlight.
func (h *zillizHighlighter) Highlight(ctx context.Context, query string, docs []string) ([][]string, [][]float32, error) {
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(
		"instance-id", h.cluster, "model-deployment-id", h.deployment, "db-name", h.db))
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	res, err := modelservicepb.NewHighlightServiceClient(h.conn).Highlight(ctx,
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
