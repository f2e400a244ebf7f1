package objstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/objstoretest"
)

func TestMemoryConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return objstore.NewMemory() })
}

func TestFaultyConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		return &objstoretest.Faulty{Store: objstore.NewMemory(), FailAfter: -1}
	})
}

func TestFaulty(t *testing.T) {
	ctx := context.Background()
	f := &objstoretest.Faulty{Store: objstore.NewMemory(), FailAfter: 1}
	if err := f.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(ctx, "k"); !errors.Is(err, objstoretest.ErrInjected) {
		t.Fatalf("second call: err = %v, want ErrInjected", err)
	}
	if f.Calls() != 2 {
		t.Fatalf("Calls = %d", f.Calls())
	}
}
