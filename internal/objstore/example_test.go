package objstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/milvago/milvago/internal/objstore"
)

func ExampleNewLocal() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "objects")
	defer os.RemoveAll(dir)

	s, err := objstore.NewLocal(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	s.Put(ctx, "insert_log/1/2/3/100/1", []byte("column 100"))
	s.Put(ctx, "insert_log/1/2/3/101/1", []byte("column 101"))
	s.Put(ctx, "insert_log/1/2/30/100/1", []byte("another segment"))

	// Prefixes are strings, not directories: end them with "/".
	objs, _ := s.List(ctx, "insert_log/1/2/3/")
	for _, o := range objs {
		fmt.Println(o.Key, o.Size)
	}

	// Map a sealed column instead of copying it.
	m, err := s.Map(ctx, "insert_log/1/2/3/101/1")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Printf("%s\n", m.Bytes())
	// Output:
	// insert_log/1/2/3/100/1 10
	// insert_log/1/2/3/101/1 10
	// column 101
}
