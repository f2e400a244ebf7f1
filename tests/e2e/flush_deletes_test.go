package e2e

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/storage"
)

// TestFlushMakesDeletesDurable deletes rows of a collection with no
// growing segment (everything flushed) and flushes it: once GetFlushState
// answers true, the deletes are in a delete log in the object store, as
// with Milvus (issue 12). Before, such a Flush had nothing to wait for and
// answered at once, while the deletes reached their delete log only at
// the channel's next time tick: a compaction planned right after merged
// the deleted rows into its output.
func TestFlushMakesDeletesDurable(t *testing.T) {
	// No compaction: it could fold a delete log into the segments before
	// the test reads it.
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) { cfg.Data.Compaction.Auto = false })
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	const name, dim, n = "flushdeletes", 8, 2000
	coll := createFlushed(t, ctx, cli, name, dim, n)

	for round := range 3 {
		// A fresh set of keys each round: each Flush must wait for its own.
		var gone []int64
		for id := int64(round); id < n; id += 7 {
			gone = append(gone, id)
		}
		gone = gone[:100]
		if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone)); err != nil {
			t.Fatalf("delete: %v", err)
		}
		took := flushAwaitRaw(t, ctx, raw, name)
		got := deletedInDeltaLogs(t, srv.objectsDir(), coll)
		for _, id := range gone {
			if !got[id] {
				t.Fatalf("round %d: Flush+Await returned after %v with key %d in no delete log (%d keys in delete logs)", round, took, id, len(got))
			}
		}
		t.Logf("round %d: Flush+Await of 100 deletes took %v", round, took)
	}
}

// createFlushed creates collection name (id, v) with n rows, flushed.
func createFlushed(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, dim, n int) int64 {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(int64(dim)))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithFloatVectorColumn("v", dim, randomVectors(rand.New(rand.NewPCG(5, 6)), n, dim))); err != nil {
		t.Fatalf("insert: %v", err)
	}
	flush(t, ctx, cli, name)
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	if err != nil {
		t.Fatal(err)
	}
	return coll.ID
}

// flushAwaitRaw flushes collection name and polls GetFlushState as the
// SDK's Await does, but with no pause before the first poll (the SDK
// waits 200 ms, which hid a Flush that answered too early). It returns
// how long the Flush and the wait took.
func flushAwaitRaw(t *testing.T, ctx context.Context, raw milvuspb.MilvusServiceClient, name string) time.Duration {
	t.Helper()
	start := time.Now()
	fr, err := raw.Flush(ctx, &milvuspb.FlushRequest{CollectionNames: []string{name}})
	if err = statusErr(fr.GetStatus(), err); err != nil {
		t.Fatalf("flush: %v", err)
	}
	req := &milvuspb.GetFlushStateRequest{CollectionName: name, SegmentIDs: fr.GetCollSegIDs()[name].GetData(), FlushTs: fr.GetCollFlushTs()[name]}
	for {
		st, err := raw.GetFlushState(ctx, req)
		if err = statusErr(st.GetStatus(), err); err != nil {
			t.Fatalf("flush state: %v", err)
		}
		if st.GetFlushed() {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("flush of %s not durable after %v", name, time.Since(start))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// deletedInDeltaLogs reads every delete log of collection coll in the
// object store and returns the keys they delete.
func deletedInDeltaLogs(t *testing.T, objects string, coll int64) map[int64]bool {
	t.Helper()
	out := map[int64]bool{}
	dir := filepath.Join(objects, "delta_log", strconv.FormatInt(coll, 10))
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dl, err := storage.DecodeDeltas(data)
		if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		for _, id := range dl.IntPKs {
			out[id] = true
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read delete logs: %v", err)
	}
	return out
}

// TestFlushAwaitLatency measures Flush+Await (GetFlushState polled every
// 5 ms) on a standalone server: after an insert (a growing segment to
// write) and after deletes alone (a delete log to write). It is a
// benchmark, not a test: it asserts nothing about speed and runs only
// when MILVAGO_FLUSH_BENCH is set to the number of rounds:
//
//	MILVAGO_FLUSH_BENCH=30 go test -run TestFlushAwaitLatency -v ./tests/e2e
func TestFlushAwaitLatency(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("MILVAGO_FLUSH_BENCH"))
	if rounds <= 0 {
		t.Skip("set MILVAGO_FLUSH_BENCH=<rounds> to measure Flush+Await")
	}
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) { cfg.Data.Compaction.Auto = false })
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	const name, dim, batch = "flushlatency", 8, 1000
	createFlushed(t, ctx, cli, name, dim, batch)
	r := rand.New(rand.NewPCG(7, 8))
	var inserts, deletes []time.Duration
	for round := range rounds {
		lo := int64((round + 1) * batch)
		ids := make([]int64, batch)
		for i := range ids {
			ids[i] = lo + int64(i)
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("v", dim, randomVectors(r, batch, dim))); err != nil {
			t.Fatalf("insert: %v", err)
		}
		inserts = append(inserts, flushAwaitRaw(t, ctx, raw, name))
		if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", ids[:100])); err != nil {
			t.Fatalf("delete: %v", err)
		}
		deletes = append(deletes, flushAwaitRaw(t, ctx, raw, name))
	}
	for _, s := range []struct {
		what string
		d    []time.Duration
	}{{"insert", inserts}, {"deletes_only", deletes}} {
		slices.Sort(s.d)
		t.Logf("BENCH flush_await_%s rounds=%d p50=%v p90=%v max=%v", s.what, len(s.d), s.d[len(s.d)/2], s.d[len(s.d)*9/10], s.d[len(s.d)-1])
	}
}
