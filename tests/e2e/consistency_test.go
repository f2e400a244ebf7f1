package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// semanticsFixture is a loaded collection with known rows: id i has
// tag "t<i>", score i and vector vecs[i]; it has an L2 field and an IP
// field with the same vectors, plus a COSINE-indexed copy.
type semanticsFixture struct {
	cli  *milvusclient.Client
	name string
	vecs [][]float32
	n    int
}

const semDim = 8

func newSemanticsFixture(t *testing.T, cli *milvusclient.Client, name string, shards int32, n int) *semanticsFixture {
	t.Helper()
	ctx := testContext(t)
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(32)).
		WithField(entity.NewField().WithName("score").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("l2").WithDataType(entity.FieldTypeFloatVector).WithDim(semDim)).
		WithField(entity.NewField().WithName("ip").WithDataType(entity.FieldTypeFloatVector).WithDim(semDim)).
		WithField(entity.NewField().WithName("cos").WithDataType(entity.FieldTypeFloatVector).WithDim(semDim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(shards)))
	r := rand.New(rand.NewPCG(uint64(n), 77))
	f := &semanticsFixture{cli: cli, name: name, vecs: make([][]float32, n), n: n}
	for i := range f.vecs {
		f.vecs[i] = make([]float32, semDim)
		for j := range f.vecs[i] {
			f.vecs[i][j] = float32(r.NormFloat64())
		}
	}
	// Insert in two batches with a flush between, so that sealed and
	// growing segments both serve.
	half := n / 2
	for _, b := range [][2]int{{0, half}, {half, n}} {
		f.insert(t, b[0], b[1], "t", false)
		if b[0] == 0 {
			flush(t, ctx, cli, name)
		}
	}
	for field, idx := range map[string]index.Index{
		"l2":  index.NewFlatIndex(entity.L2),
		"ip":  index.NewFlatIndex(entity.IP),
		"cos": index.NewHNSWIndex(entity.COSINE, 16, 100),
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, field, idx))
		must(t, err)
		must(t, it.Await(ctx))
	}
	load(t, ctx, cli, name)
	return f
}

func (f *semanticsFixture) insert(t *testing.T, lo, hi int, prefix string, upsert bool) {
	t.Helper()
	ctx := testContext(t)
	var idsIn, scores []int64
	var tags []string
	var vs [][]float32
	for i := lo; i < hi; i++ {
		idsIn = append(idsIn, int64(i))
		tags = append(tags, fmt.Sprintf("%s%d", prefix, i))
		scores = append(scores, int64(i))
		vs = append(vs, f.vecs[i%len(f.vecs)])
	}
	opt := milvusclient.NewColumnBasedInsertOption(f.name).WithInt64Column("id", idsIn).WithVarcharColumn("tag", tags).
		WithInt64Column("score", scores).WithFloatVectorColumn("l2", semDim, vs).
		WithFloatVectorColumn("ip", semDim, vs).WithFloatVectorColumn("cos", semDim, vs)
	var err error
	if upsert {
		var res milvusclient.UpsertResult
		res, err = f.cli.Upsert(ctx, opt)
		if err == nil && res.UpsertCount != int64(hi-lo) {
			t.Fatalf("upsert count %d, want %d", res.UpsertCount, hi-lo)
		}
	} else {
		_, err = f.cli.Insert(ctx, opt)
	}
	if err != nil {
		t.Fatalf("write [%d, %d): %v", lo, hi, err)
	}
}

func (f *semanticsFixture) count(t *testing.T, cl entity.ConsistencyLevel) int64 {
	t.Helper()
	qr, err := f.cli.Query(testContext(t), milvusclient.NewQueryOption(f.name).WithOutputFields("count(*)").WithConsistencyLevel(cl))
	must(t, err)
	n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
	return n
}

// TestSearchAndQuerySemantics checks the details SDK users rely on:
// distances and their order per metric, nq > 1, offsets, output vectors,
// query pagination ordered by primary key, Get by IDs, upsert.
func TestSearchAndQuerySemantics(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	f := newSemanticsFixture(t, cli, "semantics", 2, 600)
	ctx := testContext(t)
	name := f.name

	t.Run("distances", func(t *testing.T) {
		q := []float32{1, 0, -1, 0.5, 0, 2, 0, -0.25}
		for _, tc := range []struct {
			field  string
			metric func(a, b []float32) float32
			higher bool
		}{{"l2", l2sq, false}, {"ip", dot, true}, {"cos", cosine, true}} {
			rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(q)}).
				WithANNSField(tc.field).WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				t.Fatalf("%s search: %v", tc.field, err)
			}
			got := ids(t, rs[0])
			if len(got) != 10 {
				t.Fatalf("%s: %d hits", tc.field, len(got))
			}
			// Brute force: the exact top 10.
			all := make([]int64, f.n)
			for i := range all {
				all[i] = int64(i)
			}
			slices.SortFunc(all, func(a, b int64) int {
				da, db := tc.metric(q, f.vecs[a]), tc.metric(q, f.vecs[b])
				if tc.higher {
					da, db = -da, -db
				}
				switch {
				case da < db:
					return -1
				case da > db:
					return 1
				}
				return 0
			})
			for i, id := range got {
				if want := tc.metric(q, f.vecs[id]); !near(rs[0].Scores[i], want) {
					t.Fatalf("%s hit %d (id %d): score %v, want %v", tc.field, i, id, rs[0].Scores[i], want)
				}
				if i > 0 && (tc.higher && rs[0].Scores[i] > rs[0].Scores[i-1] || !tc.higher && rs[0].Scores[i] < rs[0].Scores[i-1]) {
					t.Fatalf("%s scores out of order: %v", tc.field, rs[0].Scores)
				}
			}
			if tc.field != "cos" { // FLAT is exact
				if !slices.Equal(got, all[:10]) {
					t.Fatalf("%s: ids %v, brute force %v", tc.field, got, all[:10])
				}
			}
		}
	})

	t.Run("hand-computed", func(t *testing.T) {
		// Squared L2 from the origin to (1, 2, 2, 0) is 9, not 3; IP with
		// (1, 1, 1, 1) is 5; COSINE of (3, 4) with (4, 3) is 24/25.
		for _, tc := range []struct {
			metric entity.MetricType
			rows   [][]float32
			q      []float32
			want   []float32
		}{
			{entity.L2, [][]float32{{1, 2, 2, 0}, {0, 0, 0, 0}}, []float32{0, 0, 0, 0}, []float32{0, 9}},
			{entity.IP, [][]float32{{1, 2, 2, 0}, {0, 0, 0, 1}}, []float32{1, 1, 1, 1}, []float32{5, 1}},
			{entity.COSINE, [][]float32{{3, 4, 0, 0}, {4, 3, 0, 0}}, []float32{3, 4, 0, 0}, []float32{1, 0.96}},
		} {
			hn := "hand_" + string(tc.metric)
			schema := entity.NewSchema().WithName(hn).
				WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
				WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
			must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(hn, schema)))
			_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(hn).WithInt64Column("id", []int64{1, 2}).
				WithFloatVectorColumn("v", 4, tc.rows))
			must(t, err)
			indexAndLoad(t, ctx, cli, hn, "v", index.NewFlatIndex(tc.metric))
			rs, err := cli.Search(ctx, milvusclient.NewSearchOption(hn, 2, []entity.Vector{entity.FloatVector(tc.q)}).
				WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			if rs[0].ResultCount != 2 || !near(rs[0].Scores[0], tc.want[0]) || !near(rs[0].Scores[1], tc.want[1]) {
				t.Fatalf("%s: scores %v, want %v", tc.metric, rs[0].Scores, tc.want)
			}
		}
	})

	t.Run("nq and offset", func(t *testing.T) {
		queries := []entity.Vector{entity.FloatVector(f.vecs[3]), entity.FloatVector(f.vecs[400]), entity.FloatVector(f.vecs[599])}
		full, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 12, queries).WithANNSField("l2").
			WithOutputFields("tag", "l2").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if len(full) != 3 {
			t.Fatalf("nq=3: %d result sets", len(full))
		}
		for qi, self := range []int64{3, 400, 599} {
			got := ids(t, full[qi])
			if len(got) != 12 || got[0] != self || full[qi].Scores[0] != 0 {
				t.Fatalf("query %d: %d hits, first %v (score %v), want %d", qi, len(got), got[:1], full[qi].Scores[:1], self)
			}
			tagCol := full[qi].GetColumn("tag")
			vecCol, ok := full[qi].GetColumn("l2").(*column.ColumnFloatVector)
			if tagCol == nil || !ok || tagCol.Len() != 12 || vecCol.Len() != 12 {
				t.Fatalf("query %d: output columns %v", qi, columnNames(full[qi]))
			}
			for i, id := range got {
				if tg, _ := tagCol.GetAsString(i); tg != fmt.Sprintf("t%d", id) {
					t.Fatalf("query %d hit %d: tag %q", qi, id, tg)
				}
				if !slices.Equal(vecCol.Data()[i], f.vecs[id]) {
					t.Fatalf("query %d hit %d: output vector %v, want %v", qi, id, vecCol.Data()[i], f.vecs[id])
				}
			}
		}
		paged, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, queries).WithANNSField("l2").
			WithOffset(7).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		for qi := range queries {
			if got, want := ids(t, paged[qi]), ids(t, full[qi])[7:12]; !slices.Equal(got, want) {
				t.Fatalf("query %d offset 7 limit 5: %v, want %v", qi, got, want)
			}
			if !slices.Equal(paged[qi].Scores, full[qi].Scores[7:12]) {
				t.Fatalf("query %d offset scores %v, want %v", qi, paged[qi].Scores, full[qi].Scores[7:12])
			}
		}
		// A filter that leaves fewer rows than the limit: topk shrinks.
		few, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, queries).WithANNSField("l2").
			WithFilter("id in [1, 2, 3]").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		for qi := range queries {
			if got := sortedCopy(ids(t, few[qi])); !slices.Equal(got, []int64{1, 2, 3}) {
				t.Fatalf("query %d with 3 matching rows: %v", qi, got)
			}
		}
		// ef, nprobe-style params pass through.
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 20, queries[:1]).WithANNSField("cos").
			WithAnnParam(index.NewHNSWAnnParam(64)).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if got := ids(t, rs[0]); len(got) != 20 || got[0] != 3 {
			t.Fatalf("HNSW search with ef=64: %v", got)
		}
		rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 5, queries[:1]).WithANNSField("cos").
			WithSearchParam("ef", "100").WithConsistencyLevel(entity.ClStrong))
		if err != nil || ids(t, rs[0])[0] != 3 {
			t.Fatalf("HNSW search with a raw ef param: %v", err)
		}
	})

	t.Run("query pagination and get", func(t *testing.T) {
		var all []int64
		for offset := 0; ; offset += 64 {
			qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("score >= 100").
				WithOutputFields("tag").WithOffset(offset).WithLimit(64).WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			page := int64Col(t, qr, "id")
			if !slices.IsSorted(page) {
				t.Fatalf("page at offset %d not ordered by primary key: %v", offset, page)
			}
			all = append(all, page...)
			if len(page) < 64 {
				break
			}
		}
		if len(all) != f.n-100 || all[0] != 100 || !slices.IsSorted(all) || all[len(all)-1] != int64(f.n-1) {
			t.Fatalf("pages: %d ids from %d to %d, want %d..%d in order", len(all), all[0], all[len(all)-1], 100, f.n-1)
		}
		// Limit without a filter.
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithLimit(5).WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if got := int64Col(t, qr, "id"); !slices.Equal(got, []int64{0, 1, 2, 3, 4}) {
			t.Fatalf("query limit 5 without filter: %v", got)
		}
		// Get by IDs, with a missing one.
		qr, err = cli.Get(ctx, milvusclient.NewQueryOption(name).WithIDs(column.NewColumnInt64("id", []int64{42, 7, 100000})).
			WithOutputFields("tag", "score", "ip").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := int64Col(t, qr, "id")
		if !slices.Equal(sortedCopy(got), []int64{7, 42}) {
			t.Fatalf("Get [42 7 100000]: %v", got)
		}
		for i, id := range got {
			tg, _ := qr.GetColumn("tag").GetAsString(i)
			sc, _ := qr.GetColumn("score").GetAsInt64(i)
			v := qr.GetColumn("ip").(*column.ColumnFloatVector).Data()[i]
			if tg != fmt.Sprintf("t%d", id) || sc != id || !slices.Equal(v, f.vecs[id]) {
				t.Fatalf("Get %d: tag %q score %d vec %v", id, tg, sc, v)
			}
		}
	})

	t.Run("upsert", func(t *testing.T) {
		before := f.count(t, entity.ClStrong)
		// Replace rows on both sides of the flush and add new ones.
		f.insert(t, 250, 350, "u", true)
		if n := f.count(t, entity.ClStrong); n != before {
			t.Fatalf("count after upserting existing keys = %d, want %d", n, before)
		}
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 240 and id < 360").
			WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if qr.ResultCount != 120 {
			t.Fatalf("query after upsert: %d rows, want 120", qr.ResultCount)
		}
		for i, id := range int64Col(t, qr, "id") {
			want := fmt.Sprintf("t%d", id)
			if id >= 250 && id < 350 {
				want = fmt.Sprintf("u%d", id)
			}
			if tg, _ := qr.GetColumn("tag").GetAsString(i); tg != want {
				t.Fatalf("id %d: tag %q after upsert, want %q", id, tg, want)
			}
		}
		f.insert(t, f.n-5, f.n+5, "new", true)
		if n := f.count(t, entity.ClStrong); n != before+5 {
			t.Fatalf("count after upserting 5 new keys = %d, want %d", n, before+5)
		}
		// Upserting twice in a row keeps the last.
		f.insert(t, 300, 301, "again", true)
		f.insert(t, 300, 301, "final", true)
		qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id == 300").
			WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if tg, _ := qr.GetColumn("tag").GetAsString(0); qr.ResultCount != 1 || tg != "final300" {
			t.Fatalf("id 300 after two upserts: %d rows, tag %q", qr.ResultCount, tg)
		}
		// Searches see one copy of an upserted row.
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{entity.FloatVector(f.vecs[300])}).
			WithANNSField("l2").WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := ids(t, rs[0])
		if got[0] != 300 || slices.Contains(got[1:], 300) {
			t.Fatalf("search for upserted row: %v", got)
		}
		if tg, _ := rs[0].GetColumn("tag").GetAsString(0); tg != "final300" {
			t.Fatalf("search returns tag %q for upserted row", tg)
		}
		// Upsert after flushing the upserted rows, so the replaced versions
		// are in sealed segments.
		flush(t, ctx, cli, name)
		f.insert(t, 250, 260, "v", true)
		if n := f.count(t, entity.ClStrong); n != before+5 {
			t.Fatalf("count after upsert over flushed rows = %d, want %d", n, before+5)
		}
	})
}

// TestConsistencyLevels checks that a Strong read sees every acknowledged
// write and delete at once, Session sees the client's own writes, and
// Bounded and Eventually catch up.
func TestConsistencyLevels(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	f := newSemanticsFixture(t, cli, "consistency", 3, 200)
	ctx := testContext(t)
	name := f.name

	// Strong: each acknowledged write is visible to the next read, across
	// many rounds (a lagging time tick would show as a miss).
	next := f.n
	for round := range 20 {
		f.vecs = append(f.vecs, f.vecs[round])
		f.insert(t, next, next+1, "s", false)
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("id == %d", next)).
			WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if qr.ResultCount != 1 {
			t.Fatalf("round %d: Strong query missed the row just inserted", round)
		}
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(f.vecs[next])}).
			WithANNSField("l2").WithFilter(fmt.Sprintf("id >= %d", next)).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if got := ids(t, rs[0]); len(got) != 1 || got[0] != int64(next) {
			t.Fatalf("round %d: Strong search found %v, want [%d]", round, got, next)
		}
		_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", []int64{int64(round)}))
		must(t, err)
		qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("id == %d", round)).
			WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if qr.ResultCount != 0 {
			t.Fatalf("round %d: Strong query still sees deleted id %d", round, round)
		}
		next++
	}
	want := int64(f.n + 20 - 20)
	if n := f.count(t, entity.ClStrong); n != want {
		t.Fatalf("Strong count = %d, want %d", n, want)
	}

	// Session: the writer sees its own writes without asking for Strong.
	for round := range 5 {
		f.vecs = append(f.vecs, f.vecs[round])
		f.insert(t, next, next+1, "sess", false)
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("id == %d", next)).
			WithOutputFields("tag").WithConsistencyLevel(entity.ClSession))
		must(t, err)
		if qr.ResultCount != 1 {
			t.Fatalf("round %d: Session read missed the client's own insert", round)
		}
		next++
	}
	want += 5

	// Bounded and Eventually converge: another client polls until it
	// sees the latest count.
	other := srv.client(t)
	for _, cl := range []entity.ConsistencyLevel{entity.ClBounded, entity.ClEventually, entity.ClSession} {
		eventually(t, 30*time.Second, fmt.Sprintf("%v count", cl), func() (bool, string) {
			qr, err := other.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(cl))
			if err != nil {
				return false, err.Error()
			}
			n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
			return n == want, fmt.Sprintf("count %d, want %d", n, want)
		})
	}
	// The collection's default level (Bounded here) is what a read without
	// a level uses; it too converges.
	eventually(t, 30*time.Second, "default-level count", func() (bool, string) {
		qr, err := other.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)"))
		if err != nil {
			return false, err.Error()
		}
		n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
		return n == want, fmt.Sprintf("count %d, want %d", n, want)
	})
}
