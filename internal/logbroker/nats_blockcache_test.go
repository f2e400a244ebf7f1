package logbroker_test

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// BenchmarkNATSBlockCacheRetention measures how much of an ingest the
// embedded NATS server keeps in memory: 64 MiB appended to one channel in
// 2 MiB messages (an insert's log messages), with or without a reader
// following the channel (a data node does), and the live heap after two
// collections once the reader has read everything. Issue 12
// (docs/benchmarks.md, mem12b): JetStream keeps each 8 MiB message
// block's buffer until 10 s after the block was last written or read, so
// a reader that keeps up pins every block written in the last 10 s; the
// heap then grows with the ingest rate. Run with -benchtime 1x; each
// iteration starts a fresh server.
//
//	go test ./internal/logbroker -run '^$' -bench NATSBlockCacheRetention -benchtime 1x
func BenchmarkNATSBlockCacheRetention(b *testing.B) {
	const (
		payload = 2 << 20
		total   = 64 << 20
	)
	for _, reader := range []bool{false, true} {
		name := "no-reader"
		if reader {
			name = "reader"
		}
		b.Run(name, func(b *testing.B) {
			var retained, after10s float64
			for b.Loop() {
				r, r10 := blockCacheRun(b, reader, payload, total/payload)
				retained += r
				after10s += r10
			}
			b.ReportMetric(retained/float64(b.N), "retained-MB")
			b.ReportMetric(after10s/float64(b.N), "retained-after-11s-MB")
			b.ReportMetric(float64(total>>20), "appended-MB")
		})
	}
}

// blockCacheRun appends n messages of size bytes to a fresh embedded log,
// reading them back as they come when reader is set, and returns the live
// heap grown over the start (MB) right after and 11 s after.
func blockCacheRun(b *testing.B, reader bool, size, n int) (retained, after11s float64) {
	b.Helper()
	ctx := b.Context()
	e, err := logbroker.StartEmbedded(ctx, logbroker.EmbedConfig{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	base := liveHeapMB()
	read := make(chan error, 1)
	if reader {
		rd, err := l.Read(ctx, "dml_0", 0)
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		go func() {
			for range n {
				if _, err := rd.Next(ctx); err != nil {
					read <- err
					return
				}
			}
			read <- nil
		}()
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
	retained = liveHeapMB() - base
	time.Sleep(11 * time.Second)
	return retained, liveHeapMB() - base
}

// liveHeapMB collects twice (pooled buffers survive one collection) and
// returns the live heap in MB.
func liveHeapMB() float64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}
