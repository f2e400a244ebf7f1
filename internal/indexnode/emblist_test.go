package indexnode

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

func TestBuildEmbListIndex(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	rng := rand.New(rand.NewPCG(7, 8))
	const n, dim = 100, 8
	lists := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector}
	for i := range n {
		v := make([]float32, dim*(1+i%3))
		for j := range v {
			v[j] = rng.Float32()
		}
		lists.Data = append(lists.Data, &schemapb.VectorField{Dim: dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: v}}})
	}
	putColumn(t, store, "insert_log/1/2/3/105/4", lists)
	s := New(store, nil)
	spec := index.Spec{Type: index.TypeHNSW, Metric: index.MaxSimCosine, Dim: dim, Params: map[string]string{"M": "8", "efConstruction": "64"}}
	r, err := s.Build(ctx, contract.BuildTask{BuildID: 9, Spec: spec, BinlogPath: "insert_log/1/2/3/105/4"})
	if err != nil {
		t.Fatal(err)
	}
	if r.NumRows != n {
		t.Fatalf("built %d rows, want %d", r.NumRows, n)
	}
	data, err := store.Get(ctx, r.File)
	if err != nil {
		t.Fatal(err)
	}
	payload, _, err := storage.OpenIndexFile(data)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.Load(payload)
	if err != nil {
		t.Fatal(err)
	}
	el, ok := idx.(*index.EmbList)
	if !ok || el.Len() != n || el.Spec().Metric != index.MaxSimCosine {
		t.Fatalf("loaded %T: %d rows, metric %s", idx, idx.Len(), idx.Spec().Metric)
	}
	// Row 41's second vector finds row 41.
	q := lists.Data[41].GetFloatVector().GetData()[dim : 2*dim]
	rows, err := el.Candidates(ctx, index.Dataset{Dim: dim, Float: q}, 1, nil, nil)
	if err != nil || len(rows) != 1 || rows[0] != 41 {
		t.Fatalf("candidates %v, %v; want [41]", rows, err)
	}
	// A metric that is neither MAX_SIM nor an element metric is refused.
	spec.Metric = index.BM25
	if _, err := s.Build(ctx, contract.BuildTask{BuildID: 10, Spec: spec, BinlogPath: "insert_log/1/2/3/105/4"}); err == nil {
		t.Fatal("an embedding list index with metric BM25 was built")
	}
}
