package natscensus_test

import (
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/natscensus"
)

// TestBlocks checks the census against what nats-server
// v2.15.2 does with a block written in place and read at once: its write
// cache is held strongly (issue 12, natsmem12).
func TestBlocks(t *testing.T) {
	ctx := t.Context()
	e, err := logbroker.StartEmbedded(ctx, logbroker.EmbedConfig{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	rd, err := l.Read(ctx, "dml_0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	p := make([]byte, 1<<20)
	for range 3 {
		if _, err := l.Append(ctx, "dml_0", p, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c, err := natscensus.Blocks(e.Server(), e.Log().StreamName())
	if err != nil {
		t.Fatal(err)
	}
	if c.Blocks == 0 || c.Strong == 0 || c.StrongBytes < 3<<20 {
		t.Fatalf("census %v: want the written block's 3 MiB held strongly", c)
	}
}
