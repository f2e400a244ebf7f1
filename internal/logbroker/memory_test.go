package logbroker_test

import (
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
)

func TestMemoryConformance(t *testing.T) {
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		l := logbroker.NewMemory(logbroker.MemoryConfig{})
		t.Cleanup(func() { l.Close() })
		return l
	})
}
