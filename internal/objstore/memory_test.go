package objstore_test

import (
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
