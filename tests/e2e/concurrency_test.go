package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
)

// TestConcurrentClients runs writers and readers on several connections at
// once, then drops the collection under the readers: every acknowledged
// row is counted, and reads of the dropped collection fail promptly with
// a Milvus error instead of hanging.
func TestConcurrentClients(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "busy", 8
	// (The SDK writes into the schema it sends: one per goroutine.)
	schema := func() *entity.Schema {
		return entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("w").WithDataType(entity.FieldTypeInt32)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	}
	// Several clients create the same collection at once: all succeed, one
	// collection results.
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for range 4 {
		c := srv.client(t)
		wg.Go(func() {
			if err := c.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema()).WithShardNum(2)); err != nil {
				errc <- fmt.Errorf("concurrent create: %w", err)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if err != nil || len(names) != 1 {
		t.Fatalf("after concurrent creates: %v, %v", names, err)
	}
	indexAndLoad(t, ctx, cli, name, "vec", index.NewHNSWIndex(entity.L2, 8, 32))

	const writers, batches, batch = 4, 10, 50
	stopReaders := make(chan struct{})
	var readers sync.WaitGroup
	for rd := range 2 {
		c := srv.client(t)
		r := rand.New(rand.NewPCG(uint64(rd), 1))
		readers.Go(func() {
			for {
				select {
				case <-stopReaders:
					return
				default:
				}
				q := randomVectors(r, 2, dim)
				if _, err := c.Search(ctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{entity.FloatVector(q[0]), entity.FloatVector(q[1])}).
					WithFilter("w >= 0").WithConsistencyLevel(entity.ClBounded)); err != nil {
					errc <- fmt.Errorf("search during writes: %w", err)
					return
				}
				if _, err := c.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong)); err != nil {
					errc <- fmt.Errorf("count during writes: %w", err)
					return
				}
			}
		})
	}
	var writersWG sync.WaitGroup
	for w := range writers {
		c := srv.client(t)
		r := rand.New(rand.NewPCG(uint64(w), 2))
		writersWG.Go(func() {
			for b := range batches {
				ids := make([]int64, batch)
				ws := make([]int32, batch)
				for i := range ids {
					ids[i] = int64(w*100000 + b*batch + i)
					ws[i] = int32(w)
				}
				_, err := c.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
					WithInt32Column("w", ws).WithFloatVectorColumn("vec", dim, randomVectors(r, batch, dim)))
				if err != nil {
					errc <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				if b == batches/2 && w == 0 {
					if ft, err := c.Flush(ctx, milvusclient.NewFlushOption(name)); err != nil {
						errc <- err
						return
					} else if err := ft.Await(ctx); err != nil {
						errc <- err
						return
					}
				}
			}
		})
	}
	writersWG.Wait()
	close(stopReaders)
	readers.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if n, _ := qr.GetColumn("count(*)").GetAsInt64(0); n != writers*batches*batch {
		t.Fatalf("count after concurrent writes = %d, want %d", n, writers*batches*batch)
	}
	for w := range writers {
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("w == %d", w)).
			WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if n, _ := qr.GetColumn("count(*)").GetAsInt64(0); n != batches*batch {
			t.Fatalf("writer %d: %d rows, want %d", w, n, batches*batch)
		}
	}

	// Drop the collection under a reader: its reads end in errors, fast.
	c := srv.client(t)
	done := make(chan error, 1)
	dropped := make(chan struct{})
	go func() {
		q := []entity.Vector{entity.FloatVector(make([]float32, dim))}
		for {
			rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			_, err := c.Search(rctx, milvusclient.NewSearchOption(name, 3, q).WithConsistencyLevel(entity.ClStrong))
			cancel()
			select {
			case <-dropped:
				if err != nil {
					if code := merr.Code(err); code != 100 && code != 101 {
						done <- fmt.Errorf("search of a released or dropped collection: code %d: %w", code, err)
						return
					}
					done <- nil
					return
				}
			default:
				if err != nil {
					done <- fmt.Errorf("search before the drop: %w", err)
					return
				}
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the reader get going; correctness does not depend on it
	close(dropped)                    // from here on the reader may see errors
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a reader of a dropped collection hangs")
	}
}
