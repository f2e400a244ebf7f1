package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// hybridData is a collection with four vector fields searched exactly
// (FLAT dense L2, FLAT dense IP, sparse IP with drop_ratio 0, BIN_FLAT
// HAMMING) and the scalar fields the rerankers read.
type hybridData struct {
	n      int
	vl2    [][]float32
	vip    [][]float32
	sp     []map[uint32]float32
	bin    [][]byte
	price  []float64
	tag    []string
	groups int
}

const (
	hybridName = "hybrid"
	dimL2      = 8
	dimIP      = 6
	dimBin     = 64
)

func setupHybrid(t *testing.T, ctx context.Context, cli *milvusclient.Client, seed uint64, n int) *hybridData {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 77))
	d := &hybridData{n: n, groups: 12}
	d.vl2 = randomVectors(r, n, dimL2)
	d.vip = randomVectors(r, n, dimIP)
	sparse := make([]entity.SparseEmbedding, n)
	for i := range n {
		// Index 0 in every row: every row scores > 0 against a query
		// holding index 0, so the sparse search ranks all rows.
		m := map[uint32]float32{0: 0.1 + r.Float32()}
		for range 4 {
			m[uint32(1+r.IntN(40))] = r.Float32()
		}
		d.sp = append(d.sp, m)
		sparse[i] = sparseOf(t, m)
		b := make([]byte, dimBin/8)
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		d.bin = append(d.bin, b)
		d.price = append(d.price, float64(r.IntN(10000))/100)
		d.tag = append(d.tag, fmt.Sprintf("g%02d", r.IntN(d.groups)))
	}
	schema := entity.NewSchema().WithName(hybridName).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("price").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8)).
		WithField(entity.NewField().WithName("vl2").WithDataType(entity.FieldTypeFloatVector).WithDim(dimL2)).
		WithField(entity.NewField().WithName("vip").WithDataType(entity.FieldTypeFloatVector).WithDim(dimIP)).
		WithField(entity.NewField().WithName("sp").WithDataType(entity.FieldTypeSparseVector)).
		WithField(entity.NewField().WithName("bin").WithDataType(entity.FieldTypeBinaryVector).WithDim(dimBin))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(hybridName, schema).WithShardNum(2)))
	insert := func(lo, hi int) {
		ids := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, int64(i))
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(hybridName).WithInt64Column("id", ids).
			WithColumns(column.NewColumnDouble("price", d.price[lo:hi]), column.NewColumnVarChar("tag", d.tag[lo:hi]),
				column.NewColumnSparseVectors("sp", sparse[lo:hi])).
			WithFloatVectorColumn("vl2", dimL2, d.vl2[lo:hi]).WithFloatVectorColumn("vip", dimIP, d.vip[lo:hi]).
			WithBinaryVectorColumn("bin", dimBin, d.bin[lo:hi]))
		must(t, err)
	}
	insert(0, n/2)
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(hybridName))
	must(t, err)
	must(t, ft.Await(ctx))
	insert(n/2, n) // growing segments
	for field, idx := range map[string]index.Index{
		"vl2": index.NewFlatIndex(entity.L2), "vip": index.NewFlatIndex(entity.IP),
		"sp": index.NewSparseInvertedIndex(entity.IP, 0), "bin": index.NewBinFlatIndex(entity.HAMMING),
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(hybridName, field, idx))
		must(t, err)
		must(t, it.Await(ctx))
	}
	load(t, ctx, cli, hybridName)
	return d
}

func sparseOf(t *testing.T, m map[uint32]float32) entity.SparseEmbedding {
	t.Helper()
	pos := make([]uint32, 0, len(m))
	for k := range m {
		pos = append(pos, k)
	}
	slices.Sort(pos)
	vals := make([]float32, len(pos))
	for i, p := range pos {
		vals[i] = m[p]
	}
	e, err := entity.NewSliceSparseEmbedding(pos, vals)
	must(t, err)
	return e
}

// oracleList is one field's exact ranking of every row for one query.
type oracleList struct {
	metric string
	ids    []int64
	scores []float32
}

// exact ranks all rows by brute force (ties by the smaller key) and keeps
// the best limit.
func (d *hybridData) exact(field string, q any, limit int) oracleList {
	l := oracleList{}
	score := make([]float32, d.n)
	for i := range d.n {
		switch field {
		case "vl2":
			l.metric = "L2"
			v := q.([]float32)
			var s float32
			for j := range v {
				x := d.vl2[i][j] - v[j]
				s += x * x
			}
			score[i] = s
		case "vip":
			l.metric = "IP"
			v := q.([]float32)
			var s float32
			for j := range v {
				s += d.vip[i][j] * v[j]
			}
			score[i] = s
		case "sp":
			l.metric = "IP"
			var s float32
			for k, x := range q.(map[uint32]float32) {
				s += x * d.sp[i][k]
			}
			score[i] = s
		case "bin":
			l.metric = "HAMMING"
			v := q.([]byte)
			n := 0
			for j := range v {
				n += bits.OnesCount8(v[j] ^ d.bin[i][j])
			}
			score[i] = float32(n)
		}
	}
	order := make([]int, d.n)
	for i := range order {
		order[i] = i
	}
	higher := l.metric == "IP"
	slices.SortFunc(order, func(a, b int) int {
		c := cmp.Compare(score[a], score[b])
		if higher {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, i := range order[:min(limit, d.n)] {
		l.ids = append(l.ids, int64(i))
		l.scores = append(l.scores, score[i])
	}
	return l
}

// oracleRanker is the test's own statement of Milvus 2.6's fusion rules.
type oracleRanker struct {
	kind       string // rrf, weighted, decay
	k          float32
	weights    []float32
	norm       bool
	decayFn    string
	origin     float64
	scale      float64
	decayParam float64
	offsetD    float64
}

func oracleHigher(metric string) bool {
	return metric == "IP" || metric == "COSINE" || metric == "BM25"
}

func oracleNorm(norm bool, metric string, toGreater bool) func(float32) float32 {
	atanD := func(d float32) float32 { return 1 - 2*float32(math.Atan(float64(d)))/math.Pi }
	if !norm {
		if toGreater && !oracleHigher(metric) {
			return atanD
		}
		return func(s float32) float32 { return s }
	}
	switch metric {
	case "COSINE":
		return func(s float32) float32 { return (1 + s) * 0.5 }
	case "IP":
		return func(s float32) float32 { return 0.5 + float32(math.Atan(float64(s)))/math.Pi }
	case "BM25":
		return func(s float32) float32 { return 2 * float32(math.Atan(float64(s))) / math.Pi }
	}
	return atanD
}

type fused struct {
	id    int64
	score float32
}

// fuse ranks lists and returns all fused hits in order.
func (o oracleRanker) fuse(d *hybridData, lists []oracleList) []fused {
	scores := map[int64]float32{}
	var order []int64
	add := func(id int64, s float32) {
		if old, ok := scores[id]; ok {
			scores[id] = old + s
			return
		}
		order = append(order, id)
		scores[id] = s
	}
	descending := true
	switch o.kind {
	case "rrf":
		for _, l := range lists {
			for i, id := range l.ids {
				add(id, 1/(o.k+float32(i+1)))
			}
		}
	case "weighted":
		larger, smaller := 0, 0
		for _, l := range lists {
			if oracleHigher(l.metric) {
				larger++
			} else {
				smaller++
			}
		}
		mixed := larger > 0 && smaller > 0
		descending = o.norm || mixed || smaller == 0
		for li, l := range lists {
			f := oracleNorm(o.norm, l.metric, mixed)
			for i, id := range l.ids {
				add(id, o.weights[li]*f(l.scores[i]))
			}
		}
	case "decay":
		best := map[int64]float32{}
		for _, l := range lists {
			f := oracleNorm(o.norm, l.metric, true)
			for i, id := range l.ids {
				s := f(l.scores[i])
				if old, ok := best[id]; !ok || s > old {
					best[id] = s
				}
			}
		}
		for _, l := range lists {
			for _, id := range l.ids {
				if _, ok := scores[id]; ok {
					continue
				}
				dist := math.Max(0, math.Abs(d.price[id]-o.origin)-o.offsetD)
				var f float64
				switch o.decayFn {
				case "gauss":
					f = math.Exp(dist * dist / (o.scale * o.scale / math.Log(o.decayParam)))
				case "exp":
					f = math.Exp(math.Log(o.decayParam) / o.scale * dist)
				default:
					f = math.Max(o.decayParam, 1-(1-o.decayParam)/o.scale*dist)
				}
				add(id, float32(f)*best[id])
			}
		}
	}
	slices.SortFunc(order, func(a, b int64) int {
		if scores[a] == scores[b] {
			return cmp.Compare(a, b)
		}
		c := cmp.Compare(scores[a], scores[b])
		if descending {
			return -c
		}
		return c
	})
	out := make([]fused, len(order))
	for i, id := range order {
		out[i] = fused{id, scores[id]}
	}
	return out
}

// groupList is a grouped search's hits: the first limit groups of the
// ranking, at most size hits each, group after group.
func (d *hybridData) groupList(l oracleList, size, limit int) oracleList {
	byTag := map[string][]int{}
	var tags []string
	for i, id := range l.ids {
		tg := d.tag[id]
		if _, ok := byTag[tg]; !ok {
			tags = append(tags, tg)
		}
		if len(byTag[tg]) < size {
			byTag[tg] = append(byTag[tg], i)
		}
	}
	out := oracleList{metric: l.metric}
	for _, tg := range tags[:min(limit, len(tags))] {
		for _, i := range byTag[tg] {
			out.ids = append(out.ids, l.ids[i])
			out.scores = append(out.scores, l.scores[i])
		}
	}
	return out
}

// group is Milvus's grouping of fused hits: hits by descending score fill
// their group up to size; groups rank by their best score.
func (d *hybridData) group(hits []fused, size int) []fused {
	type grp struct {
		hits []fused
		best float32
	}
	byTag := map[string]*grp{}
	var groups []*grp
	for _, h := range hits {
		g := byTag[d.tag[h.id]]
		if g == nil {
			g = &grp{}
			byTag[d.tag[h.id]] = g
			groups = append(groups, g)
		}
		if len(g.hits) < size {
			g.hits = append(g.hits, h)
			g.best = max(g.best, h.score)
		}
	}
	slices.SortStableFunc(groups, func(a, b *grp) int {
		if a.best == b.best {
			if len(a.hits) != len(b.hits) {
				return cmp.Compare(len(b.hits), len(a.hits))
			}
			return cmp.Compare(a.hits[0].id, b.hits[0].id)
		}
		return cmp.Compare(b.best, a.best)
	})
	var out []fused
	for _, g := range groups {
		out = append(out, g.hits...)
	}
	return out
}

// checkFused compares a result set with the oracle's hits: the same keys
// in the same order, except where the oracle's scores tie within float
// noise, and the same scores.
func checkFused(t *testing.T, what string, rs milvusclient.ResultSet, want []fused) {
	t.Helper()
	if rs.ResultCount != len(want) {
		t.Fatalf("%s: %d hits, want %d", what, rs.ResultCount, len(want))
	}
	for i, w := range want {
		id, err := rs.IDs.GetAsInt64(i)
		must(t, err)
		tol := 1e-5 * max(1, float32(math.Abs(float64(w.score))))
		if diff := rs.Scores[i] - w.score; diff > tol || diff < -tol {
			t.Fatalf("%s: hit %d score %v, want %v (id %d, want id %d)", what, i, rs.Scores[i], w.score, id, w.id)
		}
		if id != w.id {
			tied := (i > 0 && math.Abs(float64(want[i-1].score-w.score)) <= float64(tol)) ||
				(i+1 < len(want) && math.Abs(float64(want[i+1].score-w.score)) <= float64(tol))
			if !tied {
				t.Fatalf("%s: hit %d is id %d, want %d (score %v)", what, i, id, w.id, w.score)
			}
		}
	}
}

// groupReranker adds the rank params' group-by keys to a reranker's, as a
// client that groups a hybrid search sends them.
type groupReranker struct {
	milvusclient.Reranker
	field string
	size  int
}

func (g groupReranker) GetParams() []*commonpb.KeyValuePair {
	return append(g.Reranker.GetParams(),
		&commonpb.KeyValuePair{Key: "group_by_field", Value: g.field},
		&commonpb.KeyValuePair{Key: "group_size", Value: strconv.Itoa(g.size)})
}

// TestHybridSearchOracle: with exact per-field searches (FLAT, BIN_FLAT,
// sparse with drop ratio 0) over flushed and growing segments in two
// shards, HybridSearch's fused ranking equals a brute-force fusion of the
// per-field exact results, for RRF, weighted (raw and normalised, legacy
// and function form), decay (gauss, exp, linear), with offsets, grouping
// and output fields, over several seeds.
func TestHybridSearchOracle(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	for _, seed := range []uint64{1, 2, 3} {
		if seed > 1 {
			must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(hybridName)))
		}
		d := setupHybrid(t, ctx, cli, seed, 240)
		r := rand.New(rand.NewPCG(seed, 99))
		const nq = 2
		type query struct {
			l2, ip []float32
			sp     map[uint32]float32
			bin    []byte
		}
		qs := make([]query, nq)
		for i := range qs {
			qs[i].l2 = randomVectors(r, 1, dimL2)[0]
			qs[i].ip = randomVectors(r, 1, dimIP)[0]
			qs[i].sp = map[uint32]float32{0: 1, uint32(1 + r.IntN(40)): r.Float32(), uint32(1 + r.IntN(40)): r.Float32()}
			qs[i].bin = d.bin[r.IntN(d.n)]
		}
		limits := map[string]int{"vl2": 10 + r.IntN(20), "vip": 10 + r.IntN(20), "sp": 10 + r.IntN(20), "bin": d.n}
		ann := func(field string) *milvusclient.AnnRequest {
			vecs := make([]entity.Vector, nq)
			for i, q := range qs {
				switch field {
				case "vl2":
					vecs[i] = entity.FloatVector(q.l2)
				case "vip":
					vecs[i] = entity.FloatVector(q.ip)
				case "sp":
					vecs[i] = sparseOf(t, q.sp)
				case "bin":
					vecs[i] = entity.BinaryVector(q.bin)
				}
			}
			return milvusclient.NewAnnRequest(field, limits[field], vecs...)
		}
		lists := func(q int, fields []string, groupSize int) []oracleList {
			var out []oracleList
			for _, f := range fields {
				var v any
				switch f {
				case "vl2":
					v = qs[q].l2
				case "vip":
					v = qs[q].ip
				case "sp":
					v = qs[q].sp
				case "bin":
					v = qs[q].bin
				}
				if groupSize > 0 {
					// A grouped hybrid search groups each sub-search: its
					// limit best groups, group after group.
					out = append(out, d.groupList(d.exact(f, v, d.n), groupSize, limits[f]))
					continue
				}
				out = append(out, d.exact(f, v, limits[f]))
			}
			return out
		}
		w := func() float32 { return float32(r.IntN(100)) / 100 }
		cases := []struct {
			name    string
			fields  []string
			legacy  milvusclient.Reranker
			fn      *entity.Function
			oracle  oracleRanker
			offset  int
			limit   int
			groupBy int
		}{
			{name: "rrf", fields: []string{"vl2", "vip"}, legacy: milvusclient.NewRRFReranker().WithK(float64(1 + r.IntN(100))), limit: 15},
			{name: "rrf-4-fields", fields: []string{"vl2", "vip", "sp", "bin"}, legacy: milvusclient.NewRRFReranker(), limit: 20, offset: 3},
			{name: "weighted-raw-l2", fields: []string{"vl2", "vl2"}, limit: 10},
			{name: "weighted-mixed", fields: []string{"vl2", "vip", "sp"}, limit: 12, offset: 2},
			{name: "weighted-norm-fn", fields: []string{"vl2", "sp", "vip"}, limit: 12},
			{name: "decay-gauss", fields: []string{"vl2", "vip"}, limit: 10},
			{name: "decay-exp-norm", fields: []string{"sp", "vl2"}, limit: 10, offset: 1},
			{name: "decay-linear", fields: []string{"vip"}, limit: 8},
			{name: "rrf-grouped", fields: []string{"vl2", "vip", "sp"}, legacy: milvusclient.NewRRFReranker(), limit: 4, groupBy: 2},
		}
		for _, c := range cases {
			switch c.name {
			case "rrf":
				c.oracle = oracleRanker{kind: "rrf", k: rrfK(t, c.legacy)}
			case "rrf-4-fields", "rrf-grouped":
				c.oracle = oracleRanker{kind: "rrf", k: 60}
			case "weighted-raw-l2", "weighted-mixed":
				ws := make([]float64, len(c.fields))
				c.oracle = oracleRanker{kind: "weighted"}
				for i := range ws {
					x := w()
					ws[i] = float64(x)
					c.oracle.weights = append(c.oracle.weights, x)
				}
				c.legacy = milvusclient.NewWeightedReranker(ws)
			case "weighted-norm-fn":
				c.oracle = oracleRanker{kind: "weighted", norm: true, weights: []float32{0.5, 0.3, 0.2}}
				c.fn = entity.NewFunction().WithName("w").WithType(entity.FunctionTypeRerank).
					WithParam("reranker", "weighted").WithParam("weights", []float64{0.5, 0.3, 0.2}).WithParam("norm_score", true)
			case "decay-gauss", "decay-exp-norm", "decay-linear":
				fn := strings.TrimPrefix(strings.TrimSuffix(c.name, "-norm"), "decay-")
				c.oracle = oracleRanker{kind: "decay", decayFn: fn, origin: 50, scale: 20, decayParam: 0.4, offsetD: 3, norm: strings.HasSuffix(c.name, "-norm")}
				c.fn = entity.NewFunction().WithName("d").WithType(entity.FunctionTypeRerank).WithInputFields("price").
					WithParam("reranker", "decay").WithParam("function", fn).WithParam("origin", 50).WithParam("scale", 20).
					WithParam("decay", 0.4).WithParam("offset", 3).WithParam("norm_score", c.oracle.norm)
			}
			reqs := make([]*milvusclient.AnnRequest, len(c.fields))
			for i, f := range c.fields {
				reqs[i] = ann(f)
			}
			opt := milvusclient.NewHybridSearchOption(hybridName, c.limit, reqs...).WithOffset(c.offset).
				WithOutputFields("price", "tag")
			switch {
			case c.fn != nil:
				opt = opt.WithFunctionRerankers(c.fn)
			case c.groupBy > 0:
				opt = opt.WithReranker(groupReranker{c.legacy, "tag", c.groupBy})
			default:
				opt = opt.WithReranker(c.legacy)
			}
			rs, err := cli.HybridSearch(ctx, opt)
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, c.name, err)
			}
			if len(rs) != nq {
				t.Fatalf("seed %d %s: %d result sets", seed, c.name, len(rs))
			}
			for q := range nq {
				all := c.oracle.fuse(d, lists(q, c.fields, c.groupBy))
				var want []fused
				if c.groupBy > 0 {
					grouped := d.group(all, c.groupBy)
					// limit and offset count groups.
					seen := map[string]int{}
					var tags []string
					for _, h := range grouped {
						if _, ok := seen[d.tag[h.id]]; !ok {
							seen[d.tag[h.id]] = len(tags)
							tags = append(tags, d.tag[h.id])
						}
						if seen[d.tag[h.id]] >= c.offset && seen[d.tag[h.id]] < c.offset+c.limit {
							want = append(want, h)
						}
					}
				} else {
					want = all[min(c.offset, len(all)):min(c.offset+c.limit, len(all))]
				}
				what := fmt.Sprintf("seed %d %s q%d", seed, c.name, q)
				checkFused(t, what, rs[q], want)
				price := rs[q].GetColumn("price")
				tag := rs[q].GetColumn("tag")
				if price == nil || tag == nil || price.Len() != rs[q].ResultCount {
					t.Fatalf("%s: output fields missing: %v", what, rs[q].Fields)
				}
				for i := range rs[q].ResultCount {
					id, _ := rs[q].IDs.GetAsInt64(i)
					p, _ := price.GetAsDouble(i)
					tg, _ := tag.GetAsString(i)
					if p != d.price[id] || tg != d.tag[id] {
						t.Fatalf("%s: hit %d (id %d) has price %v tag %s, want %v %s", what, i, id, p, tg, d.price[id], d.tag[id])
					}
				}
			}
		}
	}
}

// rrfK reads the k an SDK RRF reranker sends.
func rrfK(t *testing.T, r milvusclient.Reranker) float32 {
	t.Helper()
	for _, p := range r.GetParams() {
		if p.GetKey() == "params" {
			var k float64
			if _, err := fmt.Sscanf(p.GetValue(), `{"k":%g}`, &k); err != nil {
				t.Fatalf("rrf params %s: %v", p.GetValue(), err)
			}
			return float32(k)
		}
	}
	t.Fatal("rrf reranker without params")
	return 0
}

// TestHybridSearchRESTPlainRerankAndErrors: the REST hybrid_search route
// answers as the SDK's HybridSearch; a plain Search with a decay or rrf
// function reranker reranks its page (offset applied before, as Milvus
// 2.6); bad reranker parameters get Milvus's error texts.
func TestHybridSearchRESTPlainRerankAndErrors(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	d := setupHybrid(t, ctx, cli, 9, 120)
	r := rand.New(rand.NewPCG(9, 10))
	ql2 := randomVectors(r, 1, dimL2)[0]
	qip := randomVectors(r, 1, dimIP)[0]

	// REST and SDK agree.
	sdk, err := cli.HybridSearch(ctx, milvusclient.NewHybridSearchOption(hybridName, 7,
		milvusclient.NewAnnRequest("vl2", 12, entity.FloatVector(ql2)).WithFilter("price > 10"),
		milvusclient.NewAnnRequest("vip", 9, entity.FloatVector(qip))).
		WithReranker(milvusclient.NewWeightedReranker([]float64{0.7, 0.2})).WithOffset(2).WithOutputFields("tag"))
	must(t, err)
	base := "http://" + srv.addr
	rows := restRows(t, restOK(t, base, "/entities/hybrid_search", map[string]any{
		"collectionName": hybridName,
		"search": []map[string]any{
			{"data": [][]float32{ql2}, "annsField": "vl2", "limit": 12, "filter": "price > 10"},
			{"data": [][]float32{qip}, "annsField": "vip", "limit": 9},
		},
		"rerank": map[string]any{"strategy": "weighted", "params": map[string]any{"weights": []float64{0.7, 0.2}}},
		"limit":  7, "offset": 2, "outputFields": []string{"tag"},
	}))
	if len(rows) != sdk[0].ResultCount || len(rows) != 7 {
		t.Fatalf("REST %d hits, SDK %d, want 7", len(rows), sdk[0].ResultCount)
	}
	for i, row := range rows {
		id, _ := sdk[0].IDs.GetAsInt64(i)
		if restInt(t, row["id"]) != id || row["tag"] != d.tag[id] {
			t.Fatalf("REST hit %d: %v, SDK id %d", i, row, id)
		}
		if f, _ := row["distance"].(json.Number).Float64(); math.Abs(f-float64(sdk[0].Scores[i])) > 1e-6 {
			t.Fatalf("REST hit %d distance %v, SDK %v", i, f, sdk[0].Scores[i])
		}
	}
	// A functionScore over REST.
	rows = restRows(t, restOK(t, base, "/entities/hybrid_search", map[string]any{
		"collectionName": hybridName,
		"search":         []map[string]any{{"data": [][]float32{ql2}, "annsField": "vl2", "limit": 20}},
		"functionScore": map[string]any{"functions": []map[string]any{{"name": "d", "type": "Rerank",
			"inputFieldNames": []string{"price"}, "outputFieldNames": []string{},
			"params": map[string]any{"reranker": "decay", "function": "linear", "origin": 30, "scale": 40}}}},
		"limit": 5, "outputFields": []string{"price"},
	}))
	want := oracleRanker{kind: "decay", decayFn: "linear", origin: 30, scale: 40, decayParam: 0.5}.fuse(d, []oracleList{d.exact("vl2", ql2, 20)})[:5]
	for i, row := range rows {
		if restInt(t, row["id"]) != want[i].id {
			t.Fatalf("REST decay hit %d: %v, want id %d", i, row, want[i].id)
		}
	}

	// Plain search, function reranked: the page of the vector ranking
	// (offset 3, limit 8) reordered by the decay.
	decayFn := entity.NewFunction().WithName("d").WithType(entity.FunctionTypeRerank).WithInputFields("price").
		WithParam("reranker", "decay").WithParam("function", "exp").WithParam("origin", 70).WithParam("scale", 25)
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(hybridName, 8, []entity.Vector{entity.FloatVector(qip)}).
		WithANNSField("vip").WithOffset(3).WithFunctionReranker(decayFn))
	must(t, err)
	page := d.exact("vip", qip, 11)
	page.ids, page.scores = page.ids[3:], page.scores[3:]
	checkFused(t, "plain decay", rs[0], oracleRanker{kind: "decay", decayFn: "exp", origin: 70, scale: 25, decayParam: 0.5}.fuse(d, []oracleList{page}))
	if rs[0].GetColumn("price") != nil {
		t.Fatal("plain decay: the reranker's input field is returned without being asked for")
	}
	rrfFn := entity.NewFunction().WithName("r").WithType(entity.FunctionTypeRerank).WithParam("reranker", "rrf").WithParam("k", 10)
	rs, err = cli.Search(ctx, milvusclient.NewSearchOption(hybridName, 5, []entity.Vector{entity.FloatVector(ql2)}).
		WithANNSField("vl2").WithFunctionReranker(rrfFn).WithOutputFields("price"))
	must(t, err)
	checkFused(t, "plain rrf", rs[0], oracleRanker{kind: "rrf", k: 10}.fuse(d, []oracleList{d.exact("vl2", ql2, 5)}))
	if c := rs[0].GetColumn("price"); c == nil || c.Len() != 5 {
		t.Fatal("plain rrf: price not returned")
	}

	// Milvus's errors.
	fnOpt := func(f *entity.Function) error {
		_, err := cli.HybridSearch(ctx, milvusclient.NewHybridSearchOption(hybridName, 5,
			milvusclient.NewAnnRequest("vl2", 5, entity.FloatVector(ql2)),
			milvusclient.NewAnnRequest("vip", 5, entity.FloatVector(qip))).WithFunctionRerankers(f))
		return err
	}
	rerankFn := func(name string) *entity.Function {
		return entity.NewFunction().WithName("f").WithType(entity.FunctionTypeRerank).WithParam("reranker", name)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{fnOpt(rerankFn("model").WithInputFields("tag").WithParam("provider", "tei").WithParam("queries", []string{"q"}).WithParam("endpoint", "http://tei.invalid:8080")), "call service failed"},
		{fnOpt(rerankFn("model").WithInputFields("tag").WithParam("provider", "tei").WithParam("queries", []string{"q"})), "endpoint: [] is not a valid http/https link"},
		{fnOpt(rerankFn("model").WithInputFields("tag").WithParam("provider", "tei")), "rerank function lost params queries"},
		{fnOpt(rerankFn("model").WithInputFields("price").WithParam("provider", "tei")), "rerank model only support varchar, bug got [Double]"},
		{fnOpt(rerankFn("rrf").WithParam("k", 0)), "the rank params k should be in range (0, 16384)"},
		{fnOpt(rerankFn("rrf").WithParam("k", "x")), "param k:x is not a number"},
		{fnOpt(rerankFn("weighted").WithParam("weights", []float64{0.5})), "the length of weights param mismatch with ann search requests"},
		{fnOpt(rerankFn("weighted").WithParam("weights", []float64{0.5, 1.5})), "rank param weight should be in range [0, 1]"},
		{fnOpt(rerankFn("weighted")), "weights not found"},
		{fnOpt(rerankFn("decay").WithInputFields("price").WithParam("function", "gauss").WithParam("scale", 1)), "decay function lost param: origin"},
		{fnOpt(rerankFn("decay").WithInputFields("price").WithParam("function", "gauss").WithParam("origin", 1).WithParam("scale", 1).WithParam("decay", 1)), "decay function param: decay must 0 < decay < 1, but got 1.000000"},
		{fnOpt(rerankFn("decay").WithInputFields("tag").WithParam("function", "gauss")), "decay rerank: unsupported input field type:VarChar, only support numeric field"},
		{fnOpt(rerankFn("decay").WithInputFields("price").WithParam("function", "sigmoid").WithParam("origin", 1).WithParam("scale", 1)), "invalid decay function: decay, only support [gauss,linear,exp]"},
		{fnOpt(rerankFn("bm42")), "unsupported rerank function: [bm42] , list of supported [decay,model,rrf,weighted]"},
		{fnOpt(rerankFn("rrf").WithInputFields("nope")), "function input field not found: nope"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want it to contain %q", c.err, c.want)
		}
	}
	_, err = cli.HybridSearch(ctx, milvusclient.NewHybridSearchOption(hybridName, 5,
		milvusclient.NewAnnRequest("vl2", 5, entity.FloatVector(ql2), entity.FloatVector(ql2)),
		milvusclient.NewAnnRequest("vip", 5, entity.FloatVector(qip))))
	if err == nil || !strings.Contains(err.Error(), "sub search request nq should be the same") {
		t.Errorf("nq mismatch: %v", err)
	}
	_, err = cli.HybridSearch(ctx, milvusclient.NewHybridSearchOption(hybridName, 5,
		milvusclient.NewAnnRequest("vl2", 5, entity.FloatVector(ql2))).WithReranker(groupReranker{milvusclient.NewRRFReranker(), "nope", 2}))
	if err == nil || !strings.Contains(err.Error(), "groupBy field not found in schema") {
		t.Errorf("bad group field: %v", err)
	}
}

// TestRESTSearchFunctionScore: a REST search with a functionScore reranks
// as the SDK's search with the same function reranker.
func TestRESTSearchFunctionScore(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	d := setupHybrid(t, ctx, cli, 4, 80)
	q := randomVectors(rand.New(rand.NewPCG(4, 4)), 1, dimIP)[0]
	rows := restRows(t, restOK(t, "http://"+srv.addr, "/entities/search", map[string]any{
		"collectionName": hybridName, "data": [][]float32{q}, "annsField": "vip", "limit": 6,
		"functionScore": map[string]any{"functions": []map[string]any{{"name": "d", "type": "Rerank",
			"inputFieldNames": []string{"price"}, "outputFieldNames": []string{},
			"params": map[string]any{"reranker": "decay", "function": "gauss", "origin": 40, "scale": 15, "decay": 0.3}}}},
	}))
	want := oracleRanker{kind: "decay", decayFn: "gauss", origin: 40, scale: 15, decayParam: 0.3}.fuse(d, []oracleList{d.exact("vip", q, 6)})
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, row := range rows {
		if restInt(t, row["id"]) != want[i].id {
			t.Fatalf("row %d: %v, want id %d", i, row, want[i].id)
		}
	}
}
