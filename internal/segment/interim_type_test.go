package segment

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/index"
)

// TestInterimFollowsIndexType: a growing segment builds no interim index
// for a field with no index defined or an exact (FLAT) one, starts
// building over every row it holds once told of a non-FLAT index, and
// frees what it built when the index becomes FLAT or is dropped; searches
// answer the same throughout.
func TestInterimFollowsIndexType(t *testing.T) {
	const dim, n, nlist = 8, 4*1024 + 100, 16
	rng := rand.New(rand.NewPCG(21, 22))
	data := randVecs(rng, n, dim)
	rows := make([][]byte, n)
	for i := range rows {
		rows[i] = randBM25Row(rng, 500, 12)
	}
	g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), smallInterim(nlist))
	if err != nil {
		t.Fatal(err)
	}
	sg, err := NewGrowingWithInterim(2, 1, sparseSchema(), smallInterim(nlist))
	if err != nil {
		t.Fatal(err)
	}
	built := func(typ string) (int, int) {
		t.Helper()
		g.waitInterim()
		sg.waitInterim()
		v, _ := g.interim.fields[fVec].view()
		sx := sg.interim.sparse[fSparse]
		sx.mu.RLock()
		defer sx.mu.RUnlock()
		if (v.rows == 0) != (g.interimBytes() == 0) || (sx.rows == 0) != (sg.interimBytes() == 0) {
			t.Fatalf("%s: rows %d/%d but interim bytes %d/%d", typ, v.rows, sx.rows, g.interimBytes(), sg.interimBytes())
		}
		return v.rows, sx.rows
	}

	queries := randVecs(rng, 5, dim)
	check := func(typ string) {
		t.Helper()
		req := &SearchRequest{FieldID: fVec, IndexType: typ, Metric: index.L2, Queries: index.Dataset{Float: queries, Dim: dim},
			Params: index.SearchParams{K: 10, Params: map[string]string{"nprobe": strconv.Itoa(nlist)}}, MVCCTs: math.MaxUint64}
		got, err := g.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		req.Exact = true
		want, err := g.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Offsets, want.Offsets) || !slices.Equal(got.Scores, want.Scores) {
			t.Fatalf("%s: search differs from the scan", typ)
		}
	}

	// Unknown (no index defined), then FLAT: nothing is built.
	appendVecs(t, g, data, dim, 0, n/2, 1)
	appendSparse(t, sg, rows, 0, n/2, 1)
	if d, s := built("none"); d != 0 || s != 0 {
		t.Fatalf("no index: interim index built (%d dense, %d sparse rows)", d, s)
	}
	g.SetIndexType(fVec, "FLAT")
	sg.SetIndexType(fSparse, "FLAT")
	appendVecs(t, g, data, dim, n/2, n, 2)
	appendSparse(t, sg, rows, n/2, n, 2)
	if d, s := built("FLAT"); d != 0 || s != 0 {
		t.Fatalf("FLAT: interim index built (%d dense, %d sparse rows)", d, s)
	}
	check("FLAT")

	// An index created later: the build starts over the rows held.
	g.SetIndexType(fVec, "HNSW")
	sg.SetIndexType(fSparse, "SPARSE_INVERTED_INDEX")
	full := n / interimChunkRows * interimChunkRows
	if d, s := built("HNSW"); d != full || s != full {
		t.Fatalf("HNSW: interim index holds %d dense, %d sparse rows, want %d", d, s, full)
	}
	check("HNSW")

	// Dropped (or replaced by FLAT): the lists are freed.
	for _, typ := range []string{"", "BIN_FLAT"} {
		g.SetIndexType(fVec, typ)
		sg.SetIndexType(fSparse, typ)
		if d, s := built(typ); d != 0 || s != 0 {
			t.Fatalf("%q: interim index kept (%d dense, %d sparse rows)", typ, d, s)
		}
		check(typ)
		g.SetIndexType(fVec, "IVF_FLAT")
		sg.SetIndexType(fSparse, "SPARSE_WAND")
		if d, s := built("again"); d != full || s != full {
			t.Fatalf("rebuilt: %d dense, %d sparse rows, want %d", d, s, full)
		}
	}
}

// TestInterimTypeRace: index types flipping while rows arrive and
// searches run (go test -race) leave the index consistent.
func TestInterimTypeRace(t *testing.T) {
	const dim, n = 8, 6 * 1024
	rng := rand.New(rand.NewPCG(23, 24))
	data := randVecs(rng, n, dim)
	g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), smallInterim(16))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			g.SetIndexType(fVec, []string{"HNSW", "FLAT", "", "IVF_PQ"}[i%4])
		}
	}()
	appendVecs(t, g, data, dim, 0, n, 1)
	<-done
	g.SetIndexType(fVec, "HNSW")
	g.waitInterim()
	if got := interimRows(g); got != n {
		t.Fatalf("interim index holds %d rows, want %d", got, n)
	}
	x := g.interim.fields[fVec]
	total := 0
	for _, l := range x.lists {
		total += len(l)
	}
	if total != n {
		t.Fatalf("lists hold %d rows, want %d", total, n)
	}
}

// TestInterimSurvivesSchemaChange: a growing segment copied under a new
// schema (a field added) keeps its interim configuration and the index
// types it was told, so the copy builds its interim index too.
func TestInterimSurvivesSchemaChange(t *testing.T) {
	const dim, n, nlist = 8, 3 * 1024, 16
	g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), smallInterim(nlist))
	if err != nil {
		t.Fatal(err)
	}
	g.SetIndexType(fVec, "HNSW")
	appendVecs(t, g, randVecs(rand.New(rand.NewPCG(25, 26)), n, dim), dim, 0, n, 1)
	g.waitInterim()
	schema := vecSchema(dim)
	schema.Fields = append(schema.Fields, &schemapb.FieldSchema{FieldID: 300, Name: "extra", DataType: schemapb.DataType_Int64, Nullable: true})
	ng, err := g.WithSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	ng.waitInterim()
	if got := interimRows(ng); got != n {
		t.Fatalf("copy's interim index holds %d rows, want %d", got, n)
	}
	if ng.interimCfg != g.interimCfg {
		t.Fatalf("copy's interim config %+v, want %+v", ng.interimCfg, g.interimCfg)
	}
}
