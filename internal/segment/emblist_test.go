package segment

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

const (
	embPK  = int64(100)
	embVec = int64(101)
	embDim = 8
)

func embListSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "emb", Fields: []*schemapb.FieldSchema{
		{FieldID: embPK, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: embVec, Name: "clips[emb]", DataType: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector,
			TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "8"}, {Key: "max_capacity", Value: "10"}}},
	}}
}

// embRows makes n rows of 1..5 random vectors each.
func embRows(rng *rand.Rand, n int) (map[int64]column.Column, [][][]float32, []uint64) {
	ids := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
	lists := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector}
	var raw [][][]float32
	ts := make([]uint64, n)
	for i := range n {
		ids.Data = append(ids.Data, int64(i))
		ts[i] = 10
		var flat []float32
		var vecs [][]float32
		for range 1 + rng.IntN(5) {
			v := make([]float32, embDim)
			for j := range v {
				v[j] = rng.Float32()*2 - 1
			}
			vecs = append(vecs, v)
			flat = append(flat, v...)
		}
		raw = append(raw, vecs)
		lists.Data = append(lists.Data, &schemapb.VectorField{Dim: embDim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: flat}}})
	}
	return map[int64]column.Column{embPK: ids, embVec: lists}, raw, ts
}

// oracleMaxSim is MAX_SIM computed naively in float64: the sum over the
// query's vectors of the best element score against the row's vectors.
func oracleMaxSim(m index.Metric, query, row [][]float32) float64 {
	var sum float64
	for _, q := range query {
		best := math.Inf(1)
		higher := m != index.MaxSimL2
		if higher {
			best = math.Inf(-1)
		}
		for _, v := range row {
			var dot, nq, nv, l2 float64
			for j := range q {
				a, b := float64(q[j]), float64(v[j])
				dot += a * b
				nq += a * a
				nv += b * b
				l2 += (a - b) * (a - b)
			}
			var s float64
			switch m {
			case index.MaxSimIP:
				s = dot
			case index.MaxSimL2:
				s = l2
			default:
				s = dot / (math.Sqrt(nq) * math.Sqrt(nv))
			}
			if (higher && s > best) || (!higher && s < best) {
				best = s
			}
		}
		sum += best
	}
	return sum
}

func TestSearchEmbListMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cols, raw, ts := embRows(rng, 300)
	g, err := NewGrowing(1, 1, embListSchema())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Append(ts, cols); err != nil {
		t.Fatal(err)
	}
	s, err := NewSealed(2, 1, embListSchema(), ts, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two query lists: three vectors, then one.
	var lens []int
	var flat []float32
	var queries [][][]float32
	for _, n := range []int{3, 1} {
		var q [][]float32
		for range n {
			v := make([]float32, embDim)
			for j := range v {
				v[j] = rng.Float32()*2 - 1
			}
			q = append(q, v)
			flat = append(flat, v...)
		}
		lens = append(lens, n)
		queries = append(queries, q)
	}
	const k = 10
	for _, seg := range []Segment{g, s} {
		for _, m := range []index.Metric{index.MaxSim, index.MaxSimCosine, index.MaxSimIP, index.MaxSimL2} {
			res, err := seg.Search(context.Background(), &SearchRequest{FieldID: embVec, Queries: index.Dataset{Dim: embDim, Float: flat},
				EmbListLens: lens, Metric: m, Params: index.SearchParams{K: k}, MVCCTs: 100})
			if err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			if res.NQ != 2 || res.Metric != m {
				t.Fatalf("%s: NQ %d metric %s", m, res.NQ, res.Metric)
			}
			for qi, q := range queries {
				type hit struct {
					id    int
					score float64
				}
				var want []hit
				for i, row := range raw {
					want = append(want, hit{i, oracleMaxSim(m, q, row)})
				}
				sort.SliceStable(want, func(a, b int) bool {
					if m == index.MaxSimL2 {
						return want[a].score < want[b].score
					}
					return want[a].score > want[b].score
				})
				for j := range k {
					got := res.IntPKs[qi*k+j]
					if math.Abs(float64(res.Scores[qi*k+j])-want[j].score) > 1e-4 {
						t.Fatalf("%s query %d rank %d: score %v, want %v", m, qi, j, res.Scores[qi*k+j], want[j].score)
					}
					if got != int64(want[j].id) && math.Abs(want[j].score-oracleMaxSim(m, q, raw[got])) > 1e-5 {
						t.Fatalf("%s query %d rank %d: id %d, want %d", m, qi, j, got, want[j].id)
					}
				}
			}
		}
	}
}

// TestSearchElementLevelMatchesOracle: an element-level search (one query
// vector, an element metric) ranks each row by its best element.
func TestSearchElementLevelMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cols, raw, ts := embRows(rng, 200)
	s, err := NewSealed(2, 1, embListSchema(), ts, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float32, embDim)
	for j := range q {
		q[j] = rng.Float32()*2 - 1
	}
	const k = 10
	for _, m := range []index.Metric{index.Cosine, index.IP, index.L2} {
		res, err := s.Search(context.Background(), &SearchRequest{FieldID: embVec, Queries: index.Dataset{Dim: embDim, Float: q},
			EmbListLens: []int{1}, Metric: m, Params: index.SearchParams{K: k}, MVCCTs: 100})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if res.Metric != m {
			t.Fatalf("%s: result metric %s", m, res.Metric)
		}
		type hit struct {
			id    int
			score float64
		}
		var want []hit
		for i, row := range raw {
			best := math.Inf(1)
			if m != index.L2 {
				best = math.Inf(-1)
			}
			for _, v := range row {
				var dot, qq, vv, l2 float64
				for j := range v {
					dot += float64(q[j]) * float64(v[j])
					qq += float64(q[j]) * float64(q[j])
					vv += float64(v[j]) * float64(v[j])
					l2 += (float64(q[j]) - float64(v[j])) * (float64(q[j]) - float64(v[j]))
				}
				switch m {
				case index.Cosine:
					best = math.Max(best, dot/math.Sqrt(qq*vv))
				case index.IP:
					best = math.Max(best, dot)
				default:
					best = math.Min(best, l2)
				}
			}
			want = append(want, hit{i, best})
		}
		sort.SliceStable(want, func(a, b int) bool {
			if m == index.L2 {
				return want[a].score < want[b].score
			}
			return want[a].score > want[b].score
		})
		for j := range k {
			if math.Abs(float64(res.Scores[j])-want[j].score) > 1e-4 {
				t.Fatalf("%s rank %d: score %v (id %d), want %v (id %d)", m, j, res.Scores[j], res.IntPKs[j], want[j].score, want[j].id)
			}
		}
		// Grouped by the primary key, each row is its own group: the same
		// ranking, one hit per group.
		gres, err := s.Search(context.Background(), &SearchRequest{FieldID: embVec, Queries: index.Dataset{Dim: embDim, Float: q},
			EmbListLens: []int{1}, Metric: m, Params: index.SearchParams{K: k}, MVCCTs: 100, GroupBy: &GroupBy{FieldID: embPK, Size: 1}})
		if err != nil {
			t.Fatalf("%s grouped: %v", m, err)
		}
		for j := range k {
			if gres.IntPKs[j] != res.IntPKs[j] || gres.Scores[j] != res.Scores[j] || gres.GroupValues[j] != res.IntPKs[j] {
				t.Fatalf("%s grouped rank %d: %d %v (group %v), want %d %v", m, j, gres.IntPKs[j], gres.Scores[j], gres.GroupValues[j], res.IntPKs[j], res.Scores[j])
			}
		}
	}
}

func TestSearchEmbListErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cols, _, ts := embRows(rng, 5)
	g, err := NewGrowing(1, 1, embListSchema())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Append(ts, cols); err != nil {
		t.Fatal(err)
	}
	q := index.Dataset{Dim: embDim, Float: make([]float32, embDim)}
	for name, req := range map[string]*SearchRequest{
		"no lists":      {FieldID: embVec, Queries: q, Params: index.SearchParams{K: 3}, MVCCTs: 100},
		"BM25 metric":   {FieldID: embVec, Queries: q, EmbListLens: []int{1}, Metric: index.BM25, Params: index.SearchParams{K: 3}, MVCCTs: 100},
		"binary metric": {FieldID: embVec, Queries: q, EmbListLens: []int{1}, Metric: index.Hamming, Params: index.SearchParams{K: 3}, MVCCTs: 100},
		"short queries": {FieldID: embVec, Queries: q, EmbListLens: []int{2}, Params: index.SearchParams{K: 3}, MVCCTs: 100},
		"group by":      {FieldID: embVec, Queries: q, EmbListLens: []int{1}, Params: index.SearchParams{K: 3}, MVCCTs: 100, GroupBy: &GroupBy{FieldID: embPK}},
	} {
		if _, err := g.Search(context.Background(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A row of another dim is refused on insert.
	bad := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector,
		Data: []*schemapb.VectorField{{Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, 4)}}}}}
	if err := g.Append([]uint64{11}, map[int64]column.Column{embPK: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{9}}, embVec: bad}); err == nil {
		t.Error("a row of dim 4 was accepted for dim 8")
	}
}

// TestSearchEmbListIndex checks the sealed path through an embedding list
// index (built, serialized and loaded as the index node and query node
// do): its hits are scored exactly, and its recall against the exact scan
// is high.
func TestSearchEmbListIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cols, raw, ts := embRows(rng, 2000)
	built := buildEmbListHNSW(t, cols)
	var buf bytes.Buffer
	if _, err := built.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := index.Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Len() != 2000 || loaded.Spec().Metric != index.MaxSimIP {
		t.Fatalf("loaded index: %d rows, metric %s", loaded.Len(), loaded.Spec().Metric)
	}
	s, err := NewSealed(2, 1, embListSchema(), ts, cols, map[int64]index.Index{embVec: loaded})
	if err != nil {
		t.Fatal(err)
	}
	const k, nq = 10, 20
	found := 0
	for range nq {
		var q [][]float32
		var flat []float32
		for range 2 {
			v := make([]float32, embDim)
			for j := range v {
				v[j] = rng.Float32()*2 - 1
			}
			q = append(q, v)
			flat = append(flat, v...)
		}
		req := &SearchRequest{FieldID: embVec, Queries: index.Dataset{Dim: embDim, Float: flat}, EmbListLens: []int{2},
			Params: index.SearchParams{K: k}, MVCCTs: 100}
		got, want := searchIndexedAndExact(t, s, req)
		for j, id := range got.IntPKs {
			if id < 0 || got.Offsets[j] < 0 {
				continue
			}
			if d := float64(got.Scores[j]) - oracleMaxSim(index.MaxSimIP, q, raw[id]); math.Abs(d) > 1e-4 {
				t.Fatalf("hit %d scored %v, exact %v", id, got.Scores[j], oracleMaxSim(index.MaxSimIP, q, raw[id]))
			}
			if want[id] {
				found++
			}
		}
	}
	if recall := float64(found) / (k * nq); recall < 0.9 {
		t.Fatalf("recall %.2f through the index, want >= 0.9", recall)
	}
}

// idFilter keeps the rows whose primary key keep accepts.
type idFilter struct{ keep func(id int64) bool }

func (f idFilter) Eval(_ context.Context, b column.Batch) (*bitset.Set, error) {
	c, err := b.Column(embPK)
	if err != nil {
		return nil, err
	}
	s := bitset.New(b.Len())
	for i, id := range c.(*column.Scalar[int64]).Data {
		s.SetTo(i, f.keep(id))
	}
	return s, nil
}

func (idFilter) PrimaryKeyIn() ([]int64, []string, bool) { return nil, nil, false }

// A filtered MAX_SIM search through the index asks the element graph for
// elements of kept rows only, so a filter keeping a quarter of the rows
// still finds the exact scan's top K (the graph's nearest elements, most
// of other rows, are not what it ranks); and an ef between K and 4K, valid
// for the rows, is not refused by the element search that asks for 4K.
func TestSearchEmbListIndexFiltered(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	cols, raw, ts := embRows(rng, 2000)
	built := buildEmbListHNSW(t, cols)
	s, err := NewSealed(2, 1, embListSchema(), ts, cols, map[int64]index.Index{embVec: built})
	if err != nil {
		t.Fatal(err)
	}
	keep := func(id int64) bool { return id%4 == 0 }
	const k, nq = 10, 20
	found := 0
	for range nq {
		q := make([]float32, embDim)
		for j := range q {
			q[j] = rng.Float32()*2 - 1
		}
		req := &SearchRequest{FieldID: embVec, Queries: index.Dataset{Dim: embDim, Float: q}, EmbListLens: []int{1},
			Params: index.SearchParams{K: k, Params: map[string]string{"ef": "15"}}, Filter: idFilter{keep}, MVCCTs: 100}
		got, want := searchIndexedAndExact(t, s, req)
		for j, id := range got.IntPKs {
			if got.Offsets[j] < 0 {
				t.Fatalf("hit %d empty: %d kept rows are enough for K", j, 2000/4)
			}
			if !keep(id) {
				t.Fatalf("hit %d: row %d is filtered out", j, id)
			}
			if o := oracleMaxSim(index.MaxSimIP, [][]float32{q}, raw[id]); math.Abs(float64(got.Scores[j])-o) > 1e-4 {
				t.Fatalf("hit %d scored %v, exact %v", id, got.Scores[j], o)
			}
			if want[id] {
				found++
			}
		}
	}
	if recall := float64(found) / (k * nq); recall < 0.98 {
		t.Fatalf("filtered recall %.3f through the index, want >= 0.98", recall)
	}
	// An ef below K is refused with K, as for any other HNSW field.
	_, err = s.Search(context.Background(), &SearchRequest{FieldID: embVec, Queries: index.Dataset{Dim: embDim, Float: make([]float32, embDim)},
		EmbListLens: []int{1}, Params: index.SearchParams{K: k, Params: map[string]string{"ef": "5"}}, MVCCTs: 100})
	if err == nil || !strings.Contains(err.Error(), "ef(5) should be larger than k(10)") {
		t.Fatalf("ef below K: %v", err)
	}
}

// buildEmbListHNSW builds the MAX_SIM_IP HNSW index of the embedding list
// column of cols.
func buildEmbListHNSW(t *testing.T, cols map[int64]column.Column) *index.EmbList {
	t.Helper()
	lists := cols[embVec].(*column.Scalar[*schemapb.VectorField])
	var lens []int
	data := index.Dataset{Dim: embDim}
	for _, r := range lists.Data {
		lens = append(lens, len(r.GetFloatVector().GetData())/embDim)
		data.Float = append(data.Float, r.GetFloatVector().GetData()...)
	}
	built, err := index.BuildEmbList(context.Background(), index.Spec{Type: index.TypeHNSW, Metric: index.MaxSimIP, Dim: embDim,
		Params: map[string]string{"M": "16", "efConstruction": "100"}}, index.IP, lens, data)
	if err != nil {
		t.Fatal(err)
	}
	return built
}

// searchIndexedAndExact runs req through the segment's index, then as an
// exact scan: the index's result and the keys of the exact one.
func searchIndexedAndExact(t *testing.T, s Segment, req *SearchRequest) (*SearchResult, map[int64]bool) {
	t.Helper()
	got, err := s.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	exactReq := *req
	exactReq.Exact = true
	exact, err := s.Search(context.Background(), &exactReq)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]bool{}
	for _, id := range exact.IntPKs {
		want[id] = true
	}
	return got, want
}
