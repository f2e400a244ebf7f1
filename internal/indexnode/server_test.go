package indexnode

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/objstoretest"
	"github.com/milvago/milvago/internal/storage"
)

func putColumn(t *testing.T, store objstore.Store, path string, c column.Column) {
	t.Helper()
	data, err := storage.EncodeColumn(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), path, data); err != nil {
		t.Fatal(err)
	}
}

func TestBuildWritesALoadableIndex(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	rng := rand.New(rand.NewPCG(1, 2))
	const n, dim = 200, 16
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = rng.Float32()
	}
	putColumn(t, store, "insert_log/1/2/3/101/4", &column.FloatVector{Dim: dim, Data: vecs})
	bits := make([]byte, n*4)
	for i := range bits {
		bits[i] = byte(rng.Uint32())
	}
	putColumn(t, store, "insert_log/1/2/3/102/5", &column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 32, Data: bits})

	// f builds one index and checks it answers a query for one of its
	// own vectors with that vector first.
	f := func(buildID int64, path string, spec index.Spec, query index.Dataset, want int64) {
		t.Helper()
		s := New(store, nil)
		r, err := s.Build(ctx, contract.BuildTask{BuildID: buildID, Spec: spec, BinlogPath: path})
		if err != nil {
			t.Fatalf("build %v: %v", spec, err)
		}
		if r.NumRows != n || r.File != storage.IndexFilePath(buildID, "index") || r.SizeBytes <= 0 {
			t.Fatalf("build %v: %+v", spec, r)
		}
		data, err := store.Get(ctx, r.File)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != r.SizeBytes {
			t.Fatalf("file holds %d bytes, result says %d", len(data), r.SizeBytes)
		}
		payload, _, err := storage.OpenIndexFile(data)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := index.Load(payload)
		if err != nil {
			t.Fatal(err)
		}
		if idx.Len() != n {
			t.Fatalf("index of %d vectors, want %d", idx.Len(), n)
		}
		res, err := idx.Search(ctx, query, index.SearchParams{K: 1, Params: map[string]string{"ef": "64"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Labels[0] != want {
			t.Fatalf("%s: nearest to row %d is %d", spec.Type, want, res.Labels[0])
		}
	}
	row := func(i int) []float32 { return vecs[i*dim : (i+1)*dim] }
	f(10, "insert_log/1/2/3/101/4", index.Spec{Type: index.TypeFlat, Metric: index.L2, Dim: dim}, index.Dataset{Dim: dim, Float: row(17)}, 17)
	f(11, "insert_log/1/2/3/101/4", index.Spec{Type: index.TypeAutoIndex, Metric: index.L2, Dim: dim}, index.Dataset{Dim: dim, Float: row(42)}, 42)
	f(12, "insert_log/1/2/3/102/5", index.Spec{Type: index.TypeBinFlat, Metric: index.Hamming, Dim: 32}, index.Dataset{Dim: 32, Binary: bits[9*4 : 10*4]}, 9)
}

func TestBuildFailures(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	putColumn(t, store, "insert_log/1/2/3/100/1", &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3}})
	putColumn(t, store, "insert_log/1/2/3/101/1", &column.FloatVector{Dim: 2, Data: []float32{1, 2, 3, 4}})
	if err := store.Put(ctx, "insert_log/1/2/3/101/2", []byte("not a binlog")); err != nil {
		t.Fatal(err)
	}
	flat := index.Spec{Type: index.TypeFlat, Metric: index.L2, Dim: 2}
	f := func(via objstore.Store, path string, spec index.Spec, want error) {
		t.Helper()
		_, err := New(via, nil).Build(ctx, contract.BuildTask{BuildID: 9, Spec: spec, BinlogPath: path})
		if err == nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("build of %s: %v, want %v", path, err, want)
		}
		if _, err := store.Stat(ctx, storage.IndexFilePath(9, "index")); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("a failed build left an index file (%v)", err)
		}
	}
	f(store, "insert_log/1/2/3/101/404", flat, objstore.ErrNotFound)
	f(store, "insert_log/1/2/3/100/1", flat, nil)                                                                 // not a vector column
	f(store, "insert_log/1/2/3/101/2", flat, nil)                                                                 // corrupt
	f(store, "insert_log/1/2/3/101/1", index.Spec{Type: "NO_SUCH", Dim: 2}, nil)                                  // unknown type
	f(&objstoretest.Faulty{Store: store, FailAfter: 1}, "insert_log/1/2/3/101/1", flat, objstoretest.ErrInjected) // the write fails
}

func TestDataset(t *testing.T) {
	// float16 1.0 is 0x3c00 (little-endian 00 3c); it is indexed as float32.
	h, err := Dataset(&column.ByteVector{Type: schemapb.DataType_Float16Vector, Dim: 2, Data: []byte{0, 0x3c, 0, 0xbc}})
	if err != nil || h.Dim != 2 || len(h.Float) != 2 || h.Float[0] != 1 || h.Float[1] != -1 {
		t.Fatalf("float16 vectors not converted to float32: %+v %v", h, err)
	}
	d, err := Dataset(&column.SparseVector{Rows: [][]byte{{1, 0, 0, 0, 0, 0, 128, 63}}})
	if err != nil || d.Len() != 1 {
		t.Fatalf("sparse: %+v %v", d, err)
	}
	fv := &column.FloatVector{Dim: 3, Data: []float32{1, 2, 3}}
	if d, err := Dataset(fv); err != nil || d.Dim != 3 || &d.Float[0] != &fv.Data[0] {
		t.Fatalf("float vectors are copied or lost: %+v %v", d, err)
	}
}

// TestBuildReleasesAroundLargeBuilds: a build whose input reaches
// releaseBytes returns free memory before it starts (no index file yet)
// and again once its index file is written, also when it fails; a smaller
// build does neither.
func TestBuildReleasesAroundLargeBuilds(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	const n, dim = 64, 8
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32(i % 13)
	}
	const path = "insert_log/1/2/3/101/4"
	putColumn(t, store, path, &column.FloatVector{Dim: dim, Data: vecs})
	binlog, err := store.Get(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	flat := index.Spec{Type: index.TypeFlat, Metric: index.L2, Dim: dim}
	build := func(buildID int64, releaseBytes int, spec index.Spec) (filesAtRelease []bool, err error) {
		s := New(store, nil)
		s.releaseBytes = releaseBytes
		s.release = func() time.Duration {
			_, err := store.Stat(ctx, storage.IndexFilePath(buildID, "index"))
			filesAtRelease = append(filesAtRelease, err == nil)
			return 0
		}
		_, err = s.Build(ctx, contract.BuildTask{BuildID: buildID, Spec: spec, BinlogPath: path})
		return filesAtRelease, err
	}

	got, err := build(20, len(binlog), flat)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true}; !slices.Equal(got, want) {
		t.Fatalf("large build: index file present at each release %v, want %v (before the build, after the write)", got, want)
	}
	got, err = build(21, len(binlog)+1, flat)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("small build released %d times, want none", len(got))
	}
	got, err = build(22, len(binlog), index.Spec{Type: "NO_SUCH", Dim: dim})
	if err == nil {
		t.Fatal("a build of an unknown index type succeeded")
	}
	if want := []bool{false, false}; !slices.Equal(got, want) {
		t.Fatalf("failed large build: index file present at each release %v, want %v", got, want)
	}
}
