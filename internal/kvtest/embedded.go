package kvtest

import (
	"testing"

	"github.com/milvago/milvago/internal/kv"
)

// StartEmbedded starts an embedded etcd for one test, with its data in
// t.TempDir(), and stops it when the test ends. Its election timeout is
// 500 ms, which brings the minimum lease TTL down to 1 s. Open stores with
// other root paths on it with NewStore; close them before the test ends.
func StartEmbedded(t testing.TB) *kv.Embedded {
	t.Helper()
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: t.TempDir(), ElectionMs: 500}, nil)
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close embedded etcd: %v", err)
		}
	})
	return e
}
