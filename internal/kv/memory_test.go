package kv_test

import (
	"testing"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/kvtest"
)

func TestMemoryConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store { return kv.NewMemory() })
}
