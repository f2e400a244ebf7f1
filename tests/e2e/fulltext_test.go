package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// ftsCorpus builds a text corpus from text every Debian and Go install
// ships: the paragraphs of /usr/share/common-licenses and of the Go
// standard library's package documentation (doc.go files).
func ftsCorpus(t *testing.T, max int) []string {
	t.Helper()
	files, _ := filepath.Glob("/usr/share/common-licenses/*") // sorted
	var godocs []string
	_ = filepath.WalkDir(filepath.Join(runtime.GOROOT(), "src"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "doc.go" {
			godocs = append(godocs, p)
		}
		return nil
	})
	sort.Strings(godocs)
	files = append(files, godocs...)
	seen := map[string]bool{}
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		text := string(b)
		if strings.HasSuffix(f, ".go") {
			text = strings.NewReplacer("//", " ", "/*", " ", "*/", " ").Replace(text)
		}
		for _, p := range strings.Split(text, "\n\n") {
			p = strings.Join(strings.Fields(p), " ")
			if len(p) < 40 || len(p) > 4000 || seen[p] {
				continue
			}
			seen[p] = true
			docs = append(docs, p)
			if len(docs) == max {
				return docs
			}
		}
	}
	if len(docs) < 200 {
		t.Skipf("only %d paragraphs of packaged text found", len(docs))
	}
	return docs
}

// refTokens is an independent tokenizer equal to Milvus's standard
// analyzer: runs of Unicode letters and digits, lower-cased.
func refTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// refBM25 ranks docs (only those alive) for query with plain BM25 over
// the alive docs (k1 1.2, b 0.75), scores > 0 only.
type refHit struct {
	id    int64
	score float64
}

func refBM25(docs [][]string, alive func(int) bool, query string) []refHit {
	const k1, b = 1.2, 0.75
	df := map[string]int{}
	n, total := 0, 0
	for i, d := range docs {
		if !alive(i) {
			continue
		}
		n++
		total += len(d)
		seen := map[string]bool{}
		for _, w := range d {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	avgdl := float64(total) / float64(n)
	qtf := map[string]int{}
	for _, w := range refTokens(query) {
		qtf[w]++
	}
	var hits []refHit
	for i, d := range docs {
		if !alive(i) {
			continue
		}
		tf := map[string]int{}
		for _, w := range d {
			tf[w]++
		}
		var s float64
		match := false
		for w, q := range qtf {
			f := float64(tf[w])
			if f == 0 {
				continue
			}
			match = true
			idf := math.Log(1 + (float64(n)-float64(df[w])+0.5)/(float64(df[w])+0.5))
			s += float64(q) * idf * f * (k1 + 1) / (f + k1*(1-b+b*float64(len(d))/avgdl))
		}
		if match {
			hits = append(hits, refHit{int64(i), s})
		}
	}
	slices.SortFunc(hits, func(a, b refHit) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	})
	return hits
}

// checkRanking compares a result with the reference within ties: every
// returned row has the reference's score at its rank, and the rows
// scoring above the k-th score are the same.
func checkRanking(t *testing.T, label string, ids []int64, scores []float32, want []refHit, k int) {
	t.Helper()
	if len(want) > k {
		want = want[:k]
	}
	if len(ids) != len(want) {
		t.Fatalf("%s: %d hits, reference %d", label, len(ids), len(want))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-4*math.Max(1, math.Abs(b)) }
	ref := map[int64]float64{}
	for _, h := range want {
		ref[h.id] = h.score
	}
	for i := range ids {
		if !near(float64(scores[i]), want[i].score) {
			t.Fatalf("%s: rank %d scores %g, reference %g (id %d vs %d)", label, i, scores[i], want[i].score, ids[i], want[i].id)
		}
		if s, ok := ref[ids[i]]; ok && !near(s, float64(scores[i])) {
			t.Fatalf("%s: id %d scores %g, reference %g", label, ids[i], scores[i], s)
		}
		if _, ok := ref[ids[i]]; !ok && !near(float64(scores[i]), want[len(want)-1].score) {
			t.Fatalf("%s: id %d (score %g) is not in the reference top %d", label, ids[i], scores[i], k)
		}
	}
}

func ftsSchema(name string) *entity.Schema {
	return entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8192).
			WithEnableAnalyzer(true).WithAnalyzerParams(map[string]any{"tokenizer": "standard", "filter": []any{"lowercase"}})).
		WithField(entity.NewField().WithName("sparse").WithDataType(entity.FieldTypeSparseVector)).
		WithFunction(entity.NewFunction().WithName("text_bm25").WithInputFields("text").WithOutputFields("sparse").WithType(entity.FunctionTypeBM25))
}

// TestFullTextSearchMatchesReference inserts a corpus (half flushed and
// indexed, half growing), searches with raw text through the SDK and
// compares the ranking with a straightforward BM25 over the same tokens;
// then deletes rows and checks that IDF and avgdl follow.
func TestFullTextSearchMatchesReference(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "fts_reference"
	corpus := ftsCorpus(t, 1200)
	docs := make([][]string, len(corpus))
	for i, d := range corpus {
		docs[i] = refTokens(d)
	}
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))); err != nil {
		t.Fatalf("create: %v", err)
	}
	insert := func(lo, hi int) {
		ids := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, int64(i))
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
			WithInt64Column("id", ids).WithVarcharColumn("text", corpus[lo:hi])); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	half := len(corpus) / 2
	insert(0, half)
	flush(t, ctx, cli, name)
	indexAndLoad(t, ctx, cli, name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))
	insert(half, len(corpus))

	r := rand.New(rand.NewPCG(7, 8))
	var queries []string
	for len(queries) < 25 {
		d := docs[r.IntN(len(docs))]
		if len(d) < 5 {
			continue
		}
		q := make([]string, 2+r.IntN(3))
		for i := range q {
			q[i] = d[r.IntN(len(d))]
		}
		queries = append(queries, strings.Join(q, " ")+"?")
	}
	deleted := map[int64]bool{}
	alive := func(i int) bool { return !deleted[int64(i)] }
	const k = 10
	check := func(stage string) {
		t.Helper()
		vecs := make([]entity.Vector, len(queries))
		for i, q := range queries {
			vecs[i] = entity.Text(q)
		}
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, vecs).WithANNSField("sparse").
			WithConsistencyLevel(entity.ClStrong).WithOutputFields("text"))
		if err != nil {
			t.Fatalf("%s: search: %v", stage, err)
		}
		for qi, res := range rs {
			ids := res.IDs.(*column.ColumnInt64).Data()
			label := fmt.Sprintf("%s query %q", stage, queries[qi])
			checkRanking(t, label, ids, res.Scores, refBM25(docs, alive, queries[qi]), k)
			txt := res.GetColumn("text")
			for j, id := range ids {
				if v, _ := txt.GetAsString(j); v != corpus[id] {
					t.Fatalf("%s: id %d text differs", label, id)
				}
			}
		}
	}
	check("sealed+growing")

	var del []int64
	for i := 0; i < len(corpus); i += 3 {
		del = append(del, int64(i))
		deleted[int64(i)] = true
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", del)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	check("after deletes")
}

// TestFullTextSearchErrors: Milvus's refusals around BM25 functions.
func TestFullTextSearchErrors(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "fts_errors"
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))); err != nil {
		t.Fatalf("create: %v", err)
	}
	// The output field is never supplied.
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1}).
		WithVarcharColumn("text", []string{"a"}).
		WithColumns(column.NewColumnSparseVectors("sparse", []entity.SparseEmbedding{mustSparse(t)})))
	if err == nil || !strings.Contains(err.Error(), "attempt to insert bm25 function output field") {
		t.Fatalf("insert of the output field: %v", err)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2}).
		WithVarcharColumn("text", []string{"alpha beta", "beta gamma"})); err != nil {
		t.Fatalf("insert: %v", err)
	}
	// Index metric must be BM25.
	if _, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "sparse", index.NewSparseInvertedIndex(entity.IP, 0))); err == nil ||
		!strings.Contains(err.Error(), "index metric type of BM25 function output field must be BM25, got IP") {
		t.Fatalf("IP index on the BM25 output: %v", err)
	}
	indexAndLoad(t, ctx, cli, name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0.2))
	_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{mustSparse(t)}).WithANNSField("sparse"))
	if err == nil || !strings.Contains(err.Error(), "please provide varchar/text for BM25 Function based search, got SparseFloatVector") {
		t.Fatalf("sparse query on a BM25 field: %v", err)
	}
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{entity.Text("BETA"), entity.Text("zeta")}).
		WithANNSField("sparse").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if rs[0].ResultCount != 2 || rs[1].ResultCount != 0 {
		t.Fatalf("hits %d and %d, want 2 and 0", rs[0].ResultCount, rs[1].ResultCount)
	}

	// The output field's raw data is never returned (CanRetrieveRawFieldData).
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id > 0").WithOutputFields("sparse")); err == nil ||
		!strings.Contains(err.Error(), "not allowed to retrieve raw data of field sparse") {
		t.Fatalf("query of the output field: %v", err)
	}
	all, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id > 0").WithOutputFields("*").WithConsistencyLevel(entity.ClStrong))
	if err != nil || all.GetColumn("sparse") != nil || all.GetColumn("text") == nil {
		t.Fatalf("query of *: %v", err)
	}

	// Schema validation texts (Milvus's validateFunction).
	bad := func(mutate func(*entity.Schema), want string) {
		t.Helper()
		s := ftsSchema("fts_bad")
		mutate(s)
		err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("fts_bad", s))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("create: %v, want %q", err, want)
		}
	}
	bad(func(s *entity.Schema) {
		s.Functions[0].InputFieldNames = []string{"nope"}
	}, "function input field not found: nope")
	bad(func(s *entity.Schema) {
		s.Fields[1].TypeParams["enable_analyzer"] = "false"
	}, "BM25 function input field must set enable_analyzer to true")
	bad(func(s *entity.Schema) {
		s.Functions[0].Params = map[string]string{"k": "v"}
	}, "BM25 function accepts no params")
	bad(func(s *entity.Schema) {
		s.Fields[1].TypeParams["analyzer_params"] = `{"tokenizer":"nope"}`
	}, "unsupported tokenizer: nope")
	bad(func(s *entity.Schema) {
		s.Fields[2].DataType = entity.FieldTypeFloatVector
		s.Fields[2].TypeParams["dim"] = "4"
	}, "BM25 function output field must be a SparseFloatVector field, but got FloatVector")
}

// TestCollectionFunctionDDL: Milvus 2.6 neither adds, alters nor drops
// BM25 functions of an existing collection.
func TestCollectionFunctionDDL(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "fts_function_ddl"
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))); err != nil {
		t.Fatal(err)
	}
	bm := &schemapb.FunctionSchema{Name: "b2", Type: schemapb.FunctionType_BM25, InputFieldNames: []string{"text"}, OutputFieldNames: []string{"sparse"}}
	want := func(st *commonpb.Status, err error, msg string) {
		t.Helper()
		if err != nil || !strings.Contains(st.GetReason(), msg) {
			t.Fatalf("status %v, %v; want %q", st, err, msg)
		}
	}
	st, err := raw.AddCollectionFunction(ctx, &milvuspb.AddCollectionFunctionRequest{CollectionName: name, FunctionSchema: bm})
	want(st, err, "currently does not support adding BM25 function")
	st, err = raw.AlterCollectionFunction(ctx, &milvuspb.AlterCollectionFunctionRequest{CollectionName: name, FunctionName: "b2", FunctionSchema: bm})
	want(st, err, "currently does not support alter BM25 function")
	st, err = raw.DropCollectionFunction(ctx, &milvuspb.DropCollectionFunctionRequest{CollectionName: name, FunctionName: "text_bm25"})
	want(st, err, "currently does not support droping BM25 function")
	st, err = raw.DropCollectionFunction(ctx, &milvuspb.DropCollectionFunctionRequest{CollectionName: name, FunctionName: "absent"})
	if err != nil || st.GetCode() != 0 {
		t.Fatalf("drop of an absent function: %v, %v", st, err)
	}
}

func mustSparse(t *testing.T) entity.SparseEmbedding {
	t.Helper()
	v, err := entity.NewSliceSparseEmbedding([]uint32{1, 5}, []float32{0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTextMatchFilter: TEXT_MATCH and PHRASE_MATCH filters through the SDK
// over sealed and growing rows, against a reference over the same tokens,
// in queries and as a search's filter.
func TestTextMatchFilter(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "text_match"
	corpus := ftsCorpus(t, 600)
	docs := make([][]string, len(corpus))
	for i, d := range corpus {
		docs[i] = refTokens(d)
	}
	s := ftsSchema(name)
	s.Fields[1].TypeParams["enable_match"] = "true"
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, s)); err != nil {
		t.Fatal(err)
	}
	insert := func(lo, hi int) {
		ids := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, int64(i))
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
			WithInt64Column("id", ids).WithVarcharColumn("text", corpus[lo:hi])); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	half := len(corpus) / 2
	insert(0, half)
	if f, err := cli.Flush(ctx, milvusclient.NewFlushOption(name)); err != nil || f.Await(ctx) != nil {
		t.Fatalf("flush: %v", err)
	}
	if ix, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))); err != nil || ix.Await(ctx) != nil {
		t.Fatalf("index: %v", err)
	}
	if l, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name)); err != nil || l.Await(ctx) != nil {
		t.Fatalf("load: %v", err)
	}
	insert(half, len(corpus))
	deleted := map[int64]bool{}
	query := func(filter string) []int64 {
		t.Helper()
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(filter).WithOutputFields("id").
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("query %s: %v", filter, err)
		}
		ids := rs.GetColumn("id").(*column.ColumnInt64).Data()
		slices.Sort(ids)
		return ids
	}
	ref := func(keep func([]string) bool) []int64 {
		out := []int64{}
		for i, d := range docs {
			if !deleted[int64(i)] && keep(d) {
				out = append(out, int64(i))
			}
		}
		return out
	}
	has := func(d []string, w string) bool { return slices.Contains(d, w) }
	phrase := func(d, p []string) bool {
		for i := 0; i+len(p) <= len(d); i++ {
			if slices.Equal(d[i:i+len(p)], p) {
				return true
			}
		}
		return false
	}
	check := func(stage string) {
		for _, c := range []struct {
			filter string
			keep   func([]string) bool
		}{
			{`text_match(text, 'warranty license')`, func(d []string) bool { return has(d, "warranty") || has(d, "license") }},
			{`TEXT_MATCH(text, 'warranty license copyright', minimum_should_match=2)`, func(d []string) bool {
				n := 0
				for _, w := range []string{"warranty", "license", "copyright"} {
					if has(d, w) {
						n++
					}
				}
				return n >= 2
			}},
			{`phrase_match(text, 'the program')`, func(d []string) bool { return phrase(d, []string{"the", "program"}) }},
			{`phrase_match(text, 'free software foundation', 0) and id < 400`, func(d []string) bool {
				return phrase(d, []string{"free", "software", "foundation"})
			}},
		} {
			want := ref(c.keep)
			if strings.Contains(c.filter, "id < 400") {
				want = slices.DeleteFunc(want, func(id int64) bool { return id >= 400 })
			}
			if got := query(c.filter); !slices.Equal(got, want) {
				t.Fatalf("%s: %s: %d rows, reference %d (%v vs %v)", stage, c.filter, len(got), len(want), got, want)
			}
			if len(want) == 0 {
				t.Fatalf("%s: %s matches nothing in the corpus: a vacuous check", stage, c.filter)
			}
		}
	}
	check("sealed+growing")
	var del []int64
	for i := 0; i < len(corpus); i += 2 {
		del = append(del, int64(i))
		deleted[int64(i)] = true
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", del)); err != nil {
		t.Fatal(err)
	}
	check("after deletes")

	// A full-text search filtered by text_match returns only matching rows.
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.Text("software license")}).
		WithANNSField("sparse").WithFilter(`text_match(text, 'warranty')`).WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("filtered search: %v", err)
	}
	for _, id := range rs[0].IDs.(*column.ColumnInt64).Data() {
		if deleted[id] || !has(docs[id], "warranty") {
			t.Fatalf("filtered search returned id %d", id)
		}
	}
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`text_match(id, 'x')`)); err == nil ||
		!strings.Contains(err.Error(), "text match operation on non-string is unsupported") {
		t.Fatalf("text_match on an Int64: %v", err)
	}
}
