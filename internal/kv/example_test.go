package kv_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/milvago/milvago/internal/kv"
)

// Standalone: an etcd server in-process, a store over it, a compare-and-swap
// and a watch.
func ExampleStartEmbedded() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "etcd")
	defer os.RemoveAll(dir)

	e, err := kv.StartEmbedded(ctx, kv.EmbedConfig{Dir: dir}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	s := e.Client()

	// Create only if absent.
	ok, _ := s.Txn(ctx, []kv.Cond{{Key: "collection/1"}}, []kv.Op{{Key: "collection/1", Value: []byte("v1")}})
	fmt.Println("created:", ok)
	cur, _ := s.Get(ctx, "collection/1")

	// Watch what happens after this revision.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := s.Watch(wctx, "collection/", cur.Revision)

	// Update only if nobody else did since we read it.
	ok, _ = s.Txn(ctx, []kv.Cond{{Key: "collection/1", Revision: cur.Revision}}, []kv.Op{{Key: "collection/1", Value: []byte("v2")}})
	fmt.Println("updated:", ok)
	ok, _ = s.Txn(ctx, []kv.Cond{{Key: "collection/1", Revision: cur.Revision}}, []kv.Op{{Key: "collection/1", Value: []byte("v3")}})
	fmt.Println("stale update:", ok)

	ev := <-events
	fmt.Printf("event: %s = %s\n", ev.Key, ev.Value)
	// Output:
	// created: true
	// updated: true
	// stale update: false
	// event: collection/1 = v2
}
