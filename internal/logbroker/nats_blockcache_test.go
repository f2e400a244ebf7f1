package logbroker_test

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/natscensus"
)

// BenchmarkNATSBlockCacheRetention measures how much of an ingest the
// embedded NATS server keeps in memory: 64 MiB appended to one channel in
// 2 MiB messages (an insert's log messages), with no reader, a reader
// following the channel (a data node does) or one reading it all after
// the appends (a node catching up); it reports the blocks held strongly
// and weakly (internal/natscensus) and the live heap after one and two
// collections and 11 s later. Issue 12 (docs/benchmarks.md, mem12b and
// natsmem12): JetStream keeps a block a reader read while it was being
// written strongly until 10 s after its last read or write, so a reader
// that keeps up pins every block written in the last 10 s; the heap then
// grows with the ingest rate. Run with -benchtime 1x; each iteration
// starts a fresh server.
//
//	go test ./internal/logbroker -run '^$' -bench NATSBlockCacheRetention -benchtime 1x -v
func BenchmarkNATSBlockCacheRetention(b *testing.B) {
	const (
		payload = 2 << 20
		total   = 64 << 20
	)
	for _, mode := range []readerMode{noReader, followingReader, lateReader} {
		b.Run(mode.String(), func(b *testing.B) {
			var r retention
			for b.Loop() {
				r.add(blockCacheRun(b, mode, payload, total/payload))
			}
			n := float64(b.N)
			b.ReportMetric(r.strongMB/n, "strong-MB")
			b.ReportMetric(r.weakMB/n, "weak-MB")
			b.ReportMetric(r.heap1GC/n, "live-1gc-MB")
			b.ReportMetric(r.heap2GC/n, "live-2gc-MB")
			b.ReportMetric(r.after11s/n, "live-after-11s-MB")
			b.ReportMetric(float64(total>>20), "appended-MB")
		})
	}
}

// readerMode is how blockCacheRun reads the channel it appends to.
type readerMode int

const (
	noReader        readerMode = iota
	followingReader            // reads each message as it is appended (a data node keeping up)
	lateReader                 // reads everything once the appends are done (a node catching up)
)

func (m readerMode) String() string {
	return [...]string{"no-reader", "reader", "late-reader"}[m]
}

// retention is what one blockCacheRun found, in MB: the store's blocks
// held strongly and weakly right after the reads (cacheCensus), the live
// heap grown over the start after one collection (pooled buffers and
// weakly held caches may survive it) and after two (only what is
// strongly held), and after two more 11 s later.
type retention struct {
	strongMB, weakMB, heap1GC, heap2GC, after11s float64
}

func (r *retention) add(o retention) {
	r.strongMB += o.strongMB
	r.weakMB += o.weakMB
	r.heap1GC += o.heap1GC
	r.heap2GC += o.heap2GC
	r.after11s += o.after11s
}

// blockCacheRun appends n messages of size bytes to a fresh embedded log,
// reading them back as mode says, and returns what stays in memory.
func blockCacheRun(b *testing.B, mode readerMode, size, n int) retention {
	b.Helper()
	ctx := b.Context()
	e, err := logbroker.StartEmbedded(ctx, logbroker.EmbedConfig{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	base := liveHeapMB(2)
	readAll := func() error {
		rd, err := l.Read(ctx, "dml_0", 0)
		if err != nil {
			return err
		}
		defer rd.Close()
		for range n {
			if _, err := rd.Next(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	read := make(chan error, 1)
	if mode == followingReader {
		go func() { read <- readAll() }()
	} else {
		read <- nil
	}
	p := make([]byte, size)
	for range n {
		if _, err := l.Append(ctx, "dml_0", p, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-read; err != nil {
		b.Fatal(err)
	}
	if mode == lateReader {
		if err := readAll(); err != nil {
			b.Fatal(err)
		}
	}
	var r retention
	c, err := natscensus.Blocks(e.Server(), l.StreamName())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %v", mode, c)
	r.strongMB = float64(c.StrongBytes) / (1 << 20)
	r.weakMB = float64(c.WeakBytes) / (1 << 20)
	r.heap1GC = liveHeapMB(1) - base
	r.heap2GC = liveHeapMB(1) - base
	time.Sleep(11 * time.Second)
	r.after11s = liveHeapMB(2) - base
	return r
}

// liveHeapMB collects gcs times (a pooled buffer survives one collection:
// sync.Pool's victim cache) and returns the live heap in MB.
func liveHeapMB(gcs int) float64 {
	for range gcs {
		runtime.GC()
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}
