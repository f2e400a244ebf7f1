package e2e

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/rpc/modelservicepb"
)

// sentenceModel is a model service for the test: a document's sentences
// (split at ". ") that share a word with the query, each scored by the
// share of its words that are query words.
type sentenceModel struct {
	modelservicepb.UnimplementedHighlightServiceServer
	mu    sync.Mutex
	calls []*modelservicepb.HighlightRequest
	md    []metadata.MD
}

func sentenceHighlight(query, doc string) ([]string, []float32) {
	qw := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(query)) {
		qw[w] = true
	}
	ss, sc := []string{}, []float32{}
	for _, s := range strings.Split(doc, ". ") {
		words := strings.Fields(strings.ToLower(strings.TrimSuffix(s, ".")))
		n := 0
		for _, w := range words {
			if qw[w] {
				n++
			}
		}
		if n > 0 {
			ss, sc = append(ss, s), append(sc, float32(n)/float32(len(words)))
		}
	}
	return ss, sc
}

func (m *sentenceModel) Highlight(ctx context.Context, req *modelservicepb.HighlightRequest) (*modelservicepb.HighlightResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	m.mu.Lock()
	m.calls = append(m.calls, req)
	m.md = append(m.md, md)
	m.mu.Unlock()
	resp := &modelservicepb.HighlightResponse{Status: &modelservicepb.Status{}}
	for _, d := range req.GetDocuments() {
		ss, sc := sentenceHighlight(req.GetQuery(), d)
		resp.Results = append(resp.Results, &modelservicepb.HighlightResult{Sentences: ss, Scores: sc})
	}
	return resp, nil
}

// TestSemanticHighlight: Milvus 2.6's semantic highlighter (type Semantic,
// params queries, input_fields, model_deployment_id, ...) sends each
// query's hits' texts of each input field (schema fields and dynamic field
// keys) to the zilliz model service and returns its sentences and scores
// per hit; the fields fetched for it are not returned unless asked for.
func TestSemanticHighlight(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	model := &sentenceModel{}
	gs := grpc.NewServer()
	modelservicepb.RegisterHighlightServiceServer(gs, model)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Public.Models = embedding.Config{Zilliz: embedding.ZillizConfig{Endpoint: lis.Addr().String()}}
	})
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "semantic_highlight"
	schema := entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(1024)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(2))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"Milvus is a vector database. It is built for scale. Foxes do not use it.",
		"The quick brown fox jumps. A lazy dog sleeps.",
		"Databases store rows. A vector database stores vectors.",
		"Nothing relevant here.",
	}
	notes := []string{"a note on vector search", "the fox note", "", "database note"}
	rows := []any{}
	for i := range texts {
		r := map[string]any{"id": int64(i), "text": texts[i], "vec": []float32{float32(i), 1}}
		if notes[i] != "" {
			r["note"] = notes[i]
		}
		rows = append(rows, r)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewRowBasedInsertOption(name, rows...)); err != nil {
		t.Fatal(err)
	}
	flush(t, ctx, cli, name)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	search := func(nq int, params map[string]string, output []string) (*milvuspb.SearchResults, error) {
		ph := &commonpb.PlaceholderValue{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector}
		for q := 0; q < nq; q++ {
			b := make([]byte, 8)
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(3*q)))
			binary.LittleEndian.PutUint32(b[4:], math.Float32bits(1))
			ph.Values = append(ph.Values, b)
		}
		pg, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{ph}})
		must(t, err)
		hl := &commonpb.Highlighter{Type: commonpb.HighlightType_Semantic}
		for k, v := range params {
			hl.Params = append(hl.Params, &commonpb.KeyValuePair{Key: k, Value: v})
		}
		resp, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: name, Nq: int64(nq), DslType: commonpb.DslType_BoolExprV1,
			SearchParams: []*commonpb.KeyValuePair{{Key: "anns_field", Value: "vec"}, {Key: "topk", Value: "3"}, {Key: "metric_type", Value: "L2"}},
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: pg}, OutputFields: output,
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong, Highlighter: hl})
		return resp, merr.CheckRPCCall(resp, err)
	}

	queries := []string{"vector database", "fox"}
	resp, err := search(2, map[string]string{"queries": `["vector database", "fox"]`, "input_fields": `["text", "note"]`,
		"model_deployment_id": "dep-1", "threshold": "0.5"}, []string{"id"})
	if err != nil {
		t.Fatalf("semantic search: %v", err)
	}
	res := resp.GetResults()
	ids := res.GetIds().GetIntId().GetData()
	hrs := res.GetHighlightResults()
	if len(hrs) != 2 || hrs[0].GetFieldName() != "text" || hrs[1].GetFieldName() != "note" {
		t.Fatalf("highlight results %v", hrs)
	}
	for _, fd := range res.GetFieldsData() {
		if fd.GetFieldName() == "text" || fd.GetIsDynamic() {
			t.Fatalf("field %s fetched for highlighting was returned", fd.GetFieldName())
		}
	}
	row := 0
	for q, k := range res.GetTopks() {
		for j := int64(0); j < k; j++ {
			id := ids[row]
			for f, src := range [][]string{texts, notes} {
				want, wantScores := sentenceHighlight(queries[q], src[id])
				d := hrs[f].GetDatas()[row]
				if !slices.Equal(d.GetFragments(), want) || !slices.Equal(d.GetScores(), wantScores) {
					t.Fatalf("query %d hit %d field %s: %q %v, want %q %v", q, id, hrs[f].GetFieldName(), d.GetFragments(), d.GetScores(), want, wantScores)
				}
			}
			row++
		}
	}
	// One call per query and field; the metadata names the caller; every
	// param but model_deployment_id and max_client_batch_size reaches the model.
	model.mu.Lock()
	calls, mds := model.calls, model.md
	model.mu.Unlock()
	if len(calls) != 4 {
		t.Fatalf("%d model calls, want 4", len(calls))
	}
	if md := mds[0]; md.Get("model-deployment-id")[0] != "dep-1" || md.Get("db-name")[0] != "default" || md.Get("instance-id")[0] != "by-dev" {
		t.Fatalf("metadata %v", md)
	}
	if p := calls[0].GetParams(); p["threshold"] != "0.5" || p["model_deployment_id"] != "" {
		t.Fatalf("model params %v", p)
	}

	// Asked for, the text field is returned too.
	resp, err = search(1, map[string]string{"queries": `["fox"]`, "input_fields": `["text"]`}, []string{"text"})
	if err != nil || len(resp.GetResults().GetFieldsData()) != 1 || len(resp.GetResults().GetHighlightResults()) != 1 {
		t.Fatalf("with output text: %v %v", err, resp.GetResults())
	}

	for _, c := range []struct {
		params map[string]string
		nq     int
		want   string
	}{
		{map[string]string{"input_fields": `["text"]`}, 1, "queries is required"},
		{map[string]string{"queries": `["x"]`}, 1, "input_field is required"},
		{map[string]string{"queries": `x`, "input_fields": `["text"]`}, 1, "parse queries failed"},
		{map[string]string{"queries": `["x"]`, "input_fields": `["vec"]`}, 1, "input_field vec is not a VarChar or Text field"},
		{map[string]string{"queries": `["x"]`, "input_fields": `["text"]`}, 2, "nq must equal to queries size, but got nq [2], queries size [1]"},
		{map[string]string{"queries": `["x"]`, "input_fields": `["text"]`, "max_client_batch_size": "many"}, 1, `parsing "many"`},
	} {
		if _, err := search(c.nq, c.params, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}

	// Without a configured model service the highlighter is refused.
	bare := startServer(t, "")
	bcli := bare.client(t)
	if err := bcli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatal(err)
	}
	braw := rawClient(t, bare)
	hl := &commonpb.Highlighter{Type: commonpb.HighlightType_Semantic, Params: []*commonpb.KeyValuePair{
		{Key: "queries", Value: `["x"]`}, {Key: "input_fields", Value: `["text"]`}}}
	ph, _ := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{Tag: "$0",
		Type: commonpb.PlaceholderType_FloatVector, Values: [][]byte{make([]byte, 8)}}}})
	r, err := braw.Search(ctx, &milvuspb.SearchRequest{CollectionName: name, Nq: 1, DslType: commonpb.DslType_BoolExprV1,
		SearchParams: []*commonpb.KeyValuePair{{Key: "anns_field", Value: "vec"}, {Key: "topk", Value: "3"}, {Key: "metric_type", Value: "L2"}},
		SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: ph}, Highlighter: hl})
	if err := merr.CheckRPCCall(r, err); err == nil || !strings.Contains(err.Error(), "zilliz client config error, lost endpoint config") {
		t.Fatalf("no model service: %v", err)
	}
}
