package natscensus_test

import (
	"testing"
	"time"

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

// TestBlocksUnknownStream: a stream the server does not have is an error,
// not an empty census.
func TestBlocksUnknownStream(t *testing.T) {
	e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if c, err := natscensus.Blocks(e.Server(), "NO_SUCH_STREAM"); err == nil {
		t.Fatalf("census of a missing stream: %v, want an error", c)
	}
}

// TestBlocksFollowingReaderPinsEveryBlock is the finding the census was
// written for (docs/benchmarks.md, natsmem12): blocks a reader read while
// they were being written stay strongly held after the store moved on,
// while blocks nobody read before the store moved on are not held (their
// buffer went to the next block), and reading them afterwards does not
// pin them either. The readers read the stream (NoTail): what the log's
// tail changes is TestBlocksTailReaderPinsNone.
func TestBlocksFollowingReaderPinsEveryBlock(t *testing.T) {
	const msg, msgs = 2 << 20, 12 // 24 MiB: four 8 MiB blocks of three messages
	for _, follow := range []bool{false, true} {
		e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir(), NoTail: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := e.Log()
		var rd logbroker.Reader
		if follow {
			if rd, err = l.Read(t.Context(), "dml_0", 0); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		p := make([]byte, msg)
		for range msgs {
			if _, err := l.Append(t.Context(), "dml_0", p, nil); err != nil {
				t.Fatal(err)
			}
			if follow {
				if _, err := rd.Next(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !follow {
			if rd, err = l.Read(t.Context(), "dml_0", 0); err != nil {
				t.Fatal(err)
			}
			for range msgs {
				if _, err := rd.Next(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		}
		c, err := natscensus.Blocks(e.Server(), l.StreamName())
		elapsed := time.Since(start)
		rd.Close()
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		if c.Blocks < 4 {
			t.Fatalf("follow=%v: census %v: want at least 4 blocks", follow, c)
		}
		if !follow && c.Strong != 1 {
			t.Errorf("reader reading after the writer: census %v: want only the block being written held strongly", c)
		}
		if follow && c.Strong != c.Blocks {
			// The server drops a block's cache 10 s after its last
			// read or write: on a machine slow enough to take that
			// long, the first blocks may be gone.
			if elapsed > 9*time.Second {
				t.Logf("appends took %v: census %v not checked", elapsed, c)
				continue
			}
			t.Errorf("reader following the writer: census %v: want every block strongly held", c)
		}
	}
}

// TestBlocksTailReaderPinsNone: a reader following the (unfenced) writer,
// waiting at the end of the channel as the query and data nodes do, takes
// the messages from the log's tail (internal/logbroker/tail.go), so the
// file store keeps no block but the one being written, where a reader of
// the stream kept every block (TestBlocksFollowingReaderPinsEveryBlock). A
// fenced append would pin them anyway: the server reads the channel's
// last message back to check the fence.
func TestBlocksTailReaderPinsNone(t *testing.T) {
	const msg, msgs = 2 << 20, 12
	e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	rd, err := l.Read(t.Context(), "dml_0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	p := make([]byte, msg)
	for i := range msgs {
		got := make(chan logbroker.Message, 1)
		go func() {
			m, err := rd.Next(t.Context())
			if err != nil {
				t.Error(err)
			}
			got <- m
		}()
		time.Sleep(5 * time.Millisecond) // waiting at the end, as a follower is
		p[0] = byte(i)
		id, err := l.Append(t.Context(), "dml_0", p, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := <-got
		if m.ID != id || len(m.Payload) != msg || m.Payload[0] != byte(i) {
			t.Fatalf("message %d: got id %d (want %d)", i, m.ID, id)
		}
	}
	c, err := natscensus.Blocks(e.Server(), l.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	if c.Blocks < 4 {
		t.Fatalf("census %v: want at least 4 blocks", c)
	}
	if c.Strong > 1 {
		t.Errorf("reader following the writer through the tail: census %v: want at most the block being written held", c)
	}
}
