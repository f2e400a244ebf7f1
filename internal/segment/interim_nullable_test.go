package segment

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// TestInterimNullableTrainsOnValidRows: a nullable growing field whose
// first rows are null (a field added to a live collection) trains its
// interim index on valid rows only, once it holds enough of them: trained
// on the nulls' zeros, every centroid would sit at the origin and probing
// one list would scan them all. With nprobe = nlist the answers are the
// scan's, null rows never among them; with nprobe 1 they differ.
func TestInterimNullableTrainsOnValidRows(t *testing.T) {
	const dim, nlist, nulls, n = 8, 16, 3000, 3000 + 8*1024
	schema := vecSchema(dim)
	schema.Fields[2].Nullable = true
	g, err := NewGrowingWithInterim(1, 1, schema, smallInterim(nlist))
	if err != nil {
		t.Fatal(err)
	}
	g.SetIndexType(fVec, "HNSW")
	rng := rand.New(rand.NewPCG(51, 52))
	data := randVecs(rng, n, dim)
	clear(data[:nulls*dim])
	for b := 0; b < n; b += 1000 {
		e := min(b+1000, n)
		pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
		age := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
		ts := make([]uint64, e-b)
		valid := make([]bool, e-b)
		for i := b; i < e; i++ {
			pk.Data, age.Data = append(pk.Data, int64(i)), append(age.Data, int64(i))
			ts[i-b], valid[i-b] = 1, i >= nulls
		}
		vec := &column.FloatVector{Dim: dim, Data: data[b*dim : e*dim], Valid: valid}
		if err := g.Append(ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: vec}); err != nil {
			t.Fatal(err)
		}
		if g.waitInterim(); e < nulls+interimChunkRows && interimRows(g) != 0 {
			t.Fatalf("trained with %d valid rows, fewer than a chunk", e-nulls)
		}
	}
	g.waitInterim()
	if rows := interimRows(g); rows != n/interimChunkRows*interimChunkRows {
		t.Fatalf("interim index holds %d rows", rows)
	}
	queries := randVecs(rng, 20, dim)
	search := func(nprobe int, exact bool) []int64 {
		res, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, IndexType: "HNSW", Metric: index.L2, Exact: exact,
			Queries: index.Dataset{Float: queries, Dim: dim}, Params: index.SearchParams{K: 10, Params: map[string]string{"nprobe": strconv.Itoa(nprobe)}},
			MVCCTs: math.MaxUint64})
		if err != nil {
			t.Fatal(err)
		}
		return res.Offsets
	}
	want := search(nlist, true)
	if got := search(nlist, false); !slices.Equal(got, want) {
		t.Fatal("nprobe = nlist differs from the scan")
	}
	if slices.ContainsFunc(want, func(o int64) bool { return o < nulls }) {
		t.Fatal("a null row was returned")
	}
	if got := search(1, false); slices.Equal(got, want) {
		t.Fatal("nprobe 1 gave the scan's answers: the lists are not clustered (trained on the nulls?)")
	}
}
