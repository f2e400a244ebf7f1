package rerank

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

var testSchema = &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
	{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
	{FieldID: 101, Name: "price", DataType: schemapb.DataType_Double},
	{FieldID: 102, Name: "text", DataType: schemapb.DataType_VarChar},
	{FieldID: 103, Name: "maybe", DataType: schemapb.DataType_Int32, Nullable: true},
}}

func fn(name string, inputs []string, kv ...string) *schemapb.FunctionScore {
	f := &schemapb.FunctionSchema{Type: schemapb.FunctionType_Rerank, InputFieldNames: inputs,
		Params: []*commonpb.KeyValuePair{{Key: "reranker", Value: name}}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Params = append(f.Params, &commonpb.KeyValuePair{Key: kv[i], Value: kv[i+1]})
	}
	return &schemapb.FunctionScore{Functions: []*schemapb.FunctionSchema{f}}
}

func hits(metric string, ids []int64, scores []float32) List {
	l := List{Metric: metric}
	for i, id := range ids {
		l.Hits = append(l.Hits, Hit{PK: PK{Int: id}, Score: scores[i], Value: float64(id)})
	}
	return l
}

func ids(r []Ranked) []int64 {
	out := make([]int64, len(r))
	for i, h := range r {
		out[i] = h.PK.Int
	}
	return out
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }

func TestRRF(t *testing.T) {
	rr, err := New(testSchema, fn("rrf", nil, "k", "10"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lists := []List{hits("L2", []int64{1, 2, 3}, []float32{0.1, 0.2, 0.3}), hits("IP", []int64{3, 1, 4}, []float32{9, 8, 7})}
	got, err := rr.Rank(context.Background(), lists, Params{Limit: 10, RoundDecimal: -1})
	if err != nil {
		t.Fatal(err)
	}
	// 1: 1/11+1/12, 3: 1/13+1/11, 2: 1/12, 4: 1/13.
	if want := []int64{1, 3, 2, 4}; !equal(ids(got), want) {
		t.Fatalf("order %v, want %v", ids(got), want)
	}
	if !near(got[0].Score, 1.0/11+1.0/12) || got[0].List != 0 || got[0].Pos != 0 {
		t.Fatalf("first hit %+v", got[0])
	}
	if got[1].List != 0 || got[1].Pos != 2 { // first seen in list 0 at position 2
		t.Fatalf("location of 3: %+v", got[1])
	}
	// Offset, limit and rounding.
	got, _ = rr.Rank(context.Background(), lists, Params{Limit: 2, Offset: 1, RoundDecimal: 2})
	if want := []int64{3, 2}; !equal(ids(got), want) || got[0].Score != 0.17 {
		t.Fatalf("page %v %+v", ids(got), got)
	}
}

func TestWeighted(t *testing.T) {
	// All distances, no norm: ascending weighted sum.
	rr, _ := New(testSchema, fn("weighted", nil, "weights", "[0.5, 1]"), nil)
	got, err := rr.Rank(context.Background(), []List{hits("L2", []int64{1, 2}, []float32{1, 4}), hits("L2", []int64{2, 3}, []float32{0.5, 1})}, Params{Limit: 5, RoundDecimal: -1})
	if err != nil {
		t.Fatal(err)
	}
	// 1: 0.5, 2: 2+0.5 = 2.5, 3: 1.
	if want := []int64{1, 3, 2}; !equal(ids(got), want) {
		t.Fatalf("ascending order %v, want %v", ids(got), want)
	}
	// Mixed metrics: distances converted by 1-2atan(d)/pi, descending.
	got, _ = rr.Rank(context.Background(), []List{hits("L2", []int64{1}, []float32{1}), hits("IP", []int64{2}, []float32{0.4})}, Params{Limit: 5, RoundDecimal: -1})
	if w := 0.5 * (1 - 2*float32(math.Atan(1))/math.Pi); len(got) != 2 || !near(got[1].Score, w) || got[1].PK.Int != 1 || got[0].PK.Int != 2 {
		t.Fatalf("mixed: %+v, want id 2 then id 1 with score %v", got, w)
	}
	// Normalised.
	rr, _ = New(testSchema, fn("weighted", nil, "weights", "[1, 1]", "norm_score", "true"), nil)
	got, _ = rr.Rank(context.Background(), []List{hits("COSINE", []int64{1}, []float32{0.5}), hits("BM25", []int64{1}, []float32{3})}, Params{Limit: 5, RoundDecimal: -1})
	if w := float32(0.75) + 2*float32(math.Atan(3))/math.Pi; !near(got[0].Score, w) {
		t.Fatalf("norm: %v, want %v", got[0].Score, w)
	}
	if _, err := rr.Rank(context.Background(), []List{{Metric: "IP"}}, Params{Limit: 1}); err == nil ||
		err.Error() != "the length of weights param mismatch with ann search requests: invalid parameter[expected=1][actual=2]" {
		t.Fatalf("weights mismatch: %v", err)
	}
}

func TestDecay(t *testing.T) {
	for _, c := range []struct {
		fn   string
		at   float64 // value at distance scale+offset from origin
		want float64
	}{{"gauss", 13, 0.5}, {"exp", 13, 0.5}, {"linear", 13, 0.5}, {"linear", 100, 0.5}, {"gauss", 1, 1}} {
		rr, err := New(testSchema, fn("decay", []string{"price"}, "function", c.fn, "origin", "1", "scale", "10", "offset", "2"), nil)
		if err != nil {
			t.Fatal(err)
		}
		l := List{Metric: "IP", Hits: []Hit{{PK: PK{Int: 1}, Score: 2, Value: c.at}}}
		got, _ := rr.Rank(context.Background(), []List{l}, Params{Limit: 1, RoundDecimal: -1})
		if !near(got[0].Score, float32(2*c.want)) {
			t.Errorf("%s at %v: %v, want %v", c.fn, c.at, got[0].Score, 2*c.want)
		}
	}
	// Distances are converted; score_mode merges lists.
	rr, _ := New(testSchema, fn("decay", []string{"price"}, "function", "gauss", "origin", "0", "scale", "1", "score_mode", "avg"), nil)
	got, _ := rr.Rank(context.Background(), []List{
		{Metric: "L2", Hits: []Hit{{PK: PK{Int: 1}, Score: 1, Value: 0}}},
		{Metric: "IP", Hits: []Hit{{PK: PK{Int: 1}, Score: 0.3, Value: 0}}},
	}, Params{Limit: 1, RoundDecimal: -1})
	if w := ((1 - 2*float32(math.Atan(1))/math.Pi) + 0.3) / 2; !near(got[0].Score, w) {
		t.Fatalf("avg: %v, want %v", got[0].Score, w)
	}
}

func TestGrouping(t *testing.T) {
	rr, _ := New(testSchema, fn("rrf", nil), nil)
	l := List{Metric: "IP"}
	for i, g := range []string{"a", "a", "b", "a", "c", "b"} {
		l.Hits = append(l.Hits, Hit{PK: PK{Int: int64(i)}, Score: float32(10 - i), Group: g})
	}
	got, _ := rr.Rank(context.Background(), []List{l}, Params{Limit: 2, Offset: 0, RoundDecimal: -1, Grouping: true, GroupSize: 2})
	if want := []int64{0, 1, 2, 5}; !equal(ids(got), want) {
		t.Fatalf("groups %v, want %v", ids(got), want)
	}
	got, _ = rr.Rank(context.Background(), []List{l}, Params{Limit: 2, Offset: 0, RoundDecimal: -1, Grouping: true, GroupSize: 2, GroupScorer: "sum"})
	if want := []int64{0, 1, 2, 5}; !equal(ids(got), want) {
		t.Fatalf("sum groups %v, want %v", ids(got), want)
	}
	if _, err := rr.Rank(context.Background(), []List{l}, Params{Limit: 1, Grouping: true, GroupSize: 1, GroupScorer: "median"}); err == nil ||
		!strings.Contains(err.Error(), "input group scorer type: median is not supported!") {
		t.Fatalf("bad scorer: %v", err)
	}
}

func TestLegacy(t *testing.T) {
	kv := func(p ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i+1 < len(p); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: p[i], Value: p[i+1]})
		}
		return out
	}
	rr, err := NewLegacy(testSchema, kv("limit", "3"))
	if err != nil || rr.Name() != "rrf" || rr.(*rrf).k != 60 {
		t.Fatalf("default: %v %v", rr, err)
	}
	rr, err = NewLegacy(testSchema, kv("strategy", "weighted", "params", `{"weights":[0.1,0.9],"norm_score":true}`))
	if err != nil || !rr.(*weighted).norm || len(rr.(*weighted).weights) != 2 {
		t.Fatalf("weighted: %v %v", rr, err)
	}
	for _, c := range []struct {
		params []*commonpb.KeyValuePair
		want   string
	}{
		{kv("strategy", "bogus", "params", "{}"), "unsupported rank type bogus"},
		{kv("strategy", "rrf"), "params not found in rank_params"},
		{kv("strategy", "rrf", "params", `{"k":"x"}`), "the type of rank param k should be float"},
		{kv("strategy", "rrf", "params", `{"k":20000}`), "the rank params k should be in range (0, 16384)"},
		{kv("strategy", "weighted", "params", `{"weights":[1],"norm_score":"yes"}`), "weighted rerank err, norm_score should been bool type, but [norm_score:yes]'s type is string"},
		{kv("strategy", "weighted", "params", `{}`), "weights not found"},
		{kv("strategy", "rrf", "params", `{`), "parse rerank params failed"},
	} {
		if _, err := NewLegacy(testSchema, c.params); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
}

func TestFunctionErrors(t *testing.T) {
	two := &schemapb.FunctionScore{Functions: append(fn("rrf", nil).Functions, fn("weighted", nil, "weights", "[1]").Functions...)}
	for _, c := range []struct {
		fs   *schemapb.FunctionScore
		want string
	}{
		{two, "currently only supports one rerank"},
		{fn("decay", []string{"maybe"}), "function input field cannot be nullable: field maybe"},
		{fn("decay", []string{"price", "price"}), "each function input field should be used exactly once in the same function, input field: price"},
		{fn("decay", []string{""}), "rerank input field name cannot be empty string"},
		{fn("decay", []string{"price"}, "function", "gauss", "origin", "0"), "decay function lost param: scale"},
		{fn("decay", []string{"price"}, "function", "gauss", "origin", "0", "scale", "-1"), "decay function param: scale must > 0, but got -1.000000"},
		{fn("decay", []string{"price"}, "function", "gauss", "origin", "0", "scale", "1", "offset", "-1"), "decay function param: offset must >= 0, but got -1.000000"},
		{fn("decay", []string{"price"}, "origin", "a"), "param origin:a is not a number"},
		{fn("decay", []string{"price"}, "score_mode", "min"), "unsupported score mode: [min], only supports: [max, avg, sum]"},
		{fn("decay", nil), "decay function only supports single input, but gets [[]] input"},
		{fn("rrf", []string{"price"}), "the rrf function does not support input parameters, but got [price]"},
		{fn("weighted", []string{"price"}), "the weighted function does not support input parameters, but got [price]"},
		{fn("weighted", nil, "weights", "x"), "parse weights param failed, weight should be []float, bug got: x"},
		{fn("weighted", nil, "weights", "[1]", "norm_score", "x"), "norm_score params must be true/false, bug got x"},
		{fn("model", []string{"text"}), "lost rerank params:provider "},
		{fn("model", []string{"text"}, "provider", "Cohere"), "missing credentials config or configure the MILVUS_COHERE_API_KEY environment variable in the Milvus service"},
		{fn("model", []string{"text"}, "provider", "tei"), "rerank function lost params queries"},
		{fn("model", []string{"text"}, "provider", "vllm"), "rerank function lost params endpoint"},
		{fn("model", []string{"text"}, "provider", "vllm", "endpoint", "ftp://x"), "endpoint: [ftp://x] is not a valid http/https link"},
		{fn("model", []string{"text"}, "provider", "openai"), "unknown rerank model provider:openai"},
		{fn("model", nil), "rerank model only supports single input, but gets [[]] input"},
	} {
		if _, err := New(testSchema, c.fs, testModels(time.Second)); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.fs, err, c.want)
		}
	}
	out := fn("rrf", nil)
	out.Functions[0].OutputFieldNames = []string{"x"}
	if _, err := New(testSchema, out, nil); err == nil || err.Error() != "rerank function should not have output field, but now is 1" {
		t.Errorf("output field: %v", err)
	}
	if rr, err := New(testSchema, fn("boost", nil), nil); rr != nil || err != nil {
		t.Errorf("boost: %v %v", rr, err)
	}
}

// testModels are real providers over HTTP (embeddingtest's server in the
// tests that call one).
func testModels(timeout time.Duration) ModelProviders {
	svc := embedding.New(embedding.Config{Timeout: timeout, Retries: 1})
	return func(params []*commonpb.KeyValuePair) (ModelProvider, error) {
		p, err := svc.NewRerankProvider(params, "default")
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

func TestModelDisabled(t *testing.T) {
	_, err := New(testSchema, fn("model", []string{"text"}, "provider", "tei", "queries", `["a"]`, "endpoint", "http://tei:80"), nil)
	if err == nil || err.Error() != "rerank provider: [tei] is disabled" {
		t.Fatalf("tei: %v", err)
	}
	svc := embedding.New(embedding.Config{Rerank: map[string]embedding.Provider{"tei": {Disabled: true}}})
	_, err = New(testSchema, fn("model", []string{"text"}, "provider", "TEI", "queries", `["a"]`), func(p []*commonpb.KeyValuePair) (ModelProvider, error) {
		return svc.NewRerankProvider(p, "default")
	})
	if err == nil || err.Error() != "rerank provider: [tei] is disabled" {
		t.Fatalf("tei disabled by config: %v", err)
	}
}

// TestModelRank ranks two lists' distinct hits by a TEI-compatible
// service's scores, in batches of max_client_batch_size, per query.
func TestModelRank(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 64})
	defer srv.Close()
	rr, err := New(testSchema, fn("model", []string{"text"}, "provider", "tei", "endpoint", srv.URL(),
		"queries", `["red apples", "fast cars"]`, "max_client_batch_size", "2"), testModels(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[int64]string{1: "green apples and pears", 2: "red apples", 3: "fast red cars", 4: "slow boats", 5: "cars"}
	hit := func(k int64) Hit { return Hit{PK: PK{Int: k}, Score: 1, Text: docs[k]} }
	lists := []List{{Metric: "IP", Hits: []Hit{hit(1), hit(2), hit(3)}}, {Metric: "L2", Hits: []Hit{hit(3), hit(4), hit(5)}}}
	for q, query := range []string{"red apples", "fast cars"} {
		before := srv.Requests()
		got, err := rr.Rank(context.Background(), lists, Params{NQ: 2, Query: q, Limit: 5, RoundDecimal: -1})
		if err != nil {
			t.Fatal(err)
		}
		if n := srv.Requests() - before; n != 3 { // 5 distinct docs in batches of 2
			t.Errorf("query %d: %d requests, want 3", q, n)
		}
		keys := []int64{1, 2, 3, 4, 5}
		slices.SortStableFunc(keys, func(a, b int64) int { return cmp.Compare(srv.Score(query, docs[b]), srv.Score(query, docs[a])) })
		for i, r := range got {
			if r.PK.Int != keys[i] || r.Score != srv.Score(query, docs[keys[i]]) {
				t.Fatalf("query %q: rank %d is %v, want key %d score %v", query, i, r, keys[i], srv.Score(query, docs[keys[i]]))
			}
		}
	}
	if _, err := rr.Rank(context.Background(), lists, Params{NQ: 1, Limit: 1}); err == nil || !strings.HasPrefix(err.Error(), "nq must equal to queries size, but got nq [1], queries size [2]") {
		t.Fatalf("nq: %v", err)
	}
	// No hits: no call.
	before := srv.Requests()
	if got, err := rr.Rank(context.Background(), []List{{Metric: "IP"}}, Params{NQ: 2, Limit: 1}); err != nil || len(got) != 0 || srv.Requests() != before {
		t.Fatalf("no hits: %v %v", got, err)
	}
	// A missing endpoint fails at the call, as Milvus's.
	rr, _ = New(testSchema, fn("model", []string{"text"}, "provider", "tei", "queries", `["a"]`), testModels(time.Second))
	if _, err := rr.Rank(context.Background(), lists, Params{NQ: 1, Limit: 1}); err == nil || err.Error() != "endpoint: [] is not a valid http/https link" {
		t.Fatalf("tei without endpoint: %v", err)
	}
	// A service slower than the deadline fails the ranking, it does not hang.
	slow := embeddingtest.Start(embeddingtest.Options{Dim: 8, Delay: 2 * time.Second})
	defer slow.Close()
	rr, _ = New(testSchema, fn("model", []string{"text"}, "provider", "tei", "endpoint", slow.URL(), "queries", `["a"]`), testModels(100*time.Millisecond))
	start := time.Now()
	if _, err := rr.Rank(context.Background(), lists, Params{NQ: 1, Limit: 1}); err == nil || !strings.Contains(err.Error(), "call service failed") {
		t.Fatalf("slow service: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("slow service took %v", d)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParams feeds arbitrary rank params and function params to the
// parsers and ranks with whatever they accept: errors, never panics.
func FuzzParams(f *testing.F) {
	f.Add("rrf", `{"k":5}`, "decay", "gauss", "1", "2", "0.5")
	f.Add("weighted", `{"weights":[0.2,0.8],"norm_score":true}`, "weighted", "", "", "", "")
	f.Add("weighted", `{"weights":"x"}`, "model", "tei", "", "", "")
	f.Fuzz(func(t *testing.T, strategy, params, name, function, origin, scale, decay string) {
		lists := []List{
			{Metric: "L2", Hits: []Hit{{PK: PK{Int: 1}, Score: 0.5, Value: 3}, {PK: PK{Int: 2}, Score: 1}}},
			{Metric: "IP", Hits: []Hit{{PK: PK{Int: 2}, Score: 0.7, Group: "a"}}},
		}
		p := Params{NQ: 1, Limit: 3, Offset: 1, RoundDecimal: 2, Grouping: len(params)%2 == 0, GroupSize: 1}
		if rr, err := NewLegacy(testSchema, []*commonpb.KeyValuePair{{Key: "strategy", Value: strategy}, {Key: "params", Value: params}}); err == nil {
			_, _ = rr.Rank(context.Background(), lists, p)
		}
		fs := fn(name, []string{"price"}, "function", function, "origin", origin, "scale", scale, "decay", decay, "weights", params, "k", origin)
		if rr, err := New(testSchema, fs, nil); err == nil && rr != nil {
			_, _ = rr.Rank(context.Background(), lists, p)
		}
	})
}
