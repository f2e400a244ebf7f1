package kv_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// A meta store that filled its quota raises etcd's NOSPACE alarm and
// refuses writes while reads (and deletes) keep working; once keys are
// deleted it disarms the alarm by itself and accepts writes again, without
// a restart.
func TestEmbeddedRecoversFromNoSpace(t *testing.T) {
	const quota = 8 << 20
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: t.TempDir(), QuotaBackendBytes: quota,
		CompactionRetention: 1, SpaceCheck: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Client()
	ctx := t.Context()
	if _, err := s.Put(ctx, "keep", []byte("v")); err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte("x"), 256<<10)
	var n int
	var putErr error
	for n = 0; n < 200; n++ {
		if _, putErr = s.Put(ctx, fmt.Sprintf("big/%03d", n), value); putErr != nil {
			break
		}
	}
	if putErr == nil || !strings.Contains(putErr.Error(), "database space exceeded") {
		t.Fatalf("after %d puts of 256 KiB into an 8 MiB quota: %v, want database space exceeded", n, putErr)
	}
	t.Logf("quota reached after %d puts: %v", n, putErr)
	// Reads are served meanwhile.
	if kvp, err := s.Get(ctx, "keep"); err != nil || string(kvp.Value) != "v" {
		t.Fatalf("read while out of space: %q, %v", kvp.Value, err)
	}
	// Still refused while the data is there: the watcher may give back
	// the pages of history, but not the live keys, so more big values
	// soon hit the quota again.
	time.Sleep(500 * time.Millisecond)
	refused := false
	for i := n; i < n+16 && !refused; i++ {
		if _, err := s.Put(ctx, fmt.Sprintf("big/%03d", i), value); err != nil {
			refused = true
		} else {
			n = i + 1
		}
	}
	if !refused {
		t.Fatal("16 more values of 256 KiB accepted while the backend holds its quota's worth of live keys")
	}
	for i := range n {
		if err := s.Delete(ctx, fmt.Sprintf("big/%03d", i)); err != nil {
			t.Fatalf("delete while out of space: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Put(ctx, "small", []byte("v"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused 30 s after the space was freed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if kvp, err := s.Get(ctx, "small"); err != nil || string(kvp.Value) != "v" {
		t.Fatalf("read back: %q, %v", kvp.Value, err)
	}
}
