package logbroker_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// Benchmarks: go test -run='^$' -bench=. -benchtime=2s ./internal/logbroker/
//
// Append reports latency percentiles of a single appender; AppendParallel
// the throughput of 16 concurrent appenders (what a proxy with many
// clients does); Read the throughput of one reader replaying a channel.

var benchSizes = []int{1 << 10, 64 << 10}

type benchBackend struct {
	name string
	open func(b *testing.B) logbroker.Log
}

func benchBackends() []benchBackend {
	embedded := func(syncAlways bool) func(b *testing.B) logbroker.Log {
		return func(b *testing.B) logbroker.Log {
			e, err := logbroker.StartEmbedded(b.Context(), logbroker.EmbedConfig{
				Dir:        b.TempDir(),
				SyncAlways: syncAlways,
			}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { e.Close() })
			return e.Log()
		}
	}
	return []benchBackend{
		{"memory", func(b *testing.B) logbroker.Log {
			l := logbroker.NewMemory(logbroker.MemoryConfig{})
			b.Cleanup(func() { l.Close() })
			return l
		}},
		{"embedded", embedded(false)},
		{"embedded-syncalways", embedded(true)},
	}
}

// truncateEvery truncates the channel every 1024 appends, as the
// coordinators do after checkpoints, so that memory and disk use stay flat.
func truncateEvery(b *testing.B, l logbroker.Log, n int, id logbroker.MessageID) {
	if n%1024 != 0 {
		return
	}
	if err := l.Truncate(b.Context(), "dml_0", id); err != nil {
		b.Error(err)
	}
}

func sizeName(n int) string { return fmt.Sprintf("%dKiB", n>>10) }

func BenchmarkAppend(b *testing.B) {
	for _, be := range benchBackends() {
		for _, size := range benchSizes {
			b.Run(be.name+"/"+sizeName(size), func(b *testing.B) {
				l := be.open(b)
				payload := make([]byte, size)
				props := map[string]string{"msgType": "Insert"}
				var lat []time.Duration
				b.SetBytes(int64(size))
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					t0 := time.Now()
					id, err := l.Append(b.Context(), "dml_0", payload, props)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					truncateEvery(b, l, len(lat), id)
				}
				elapsed := time.Since(start)
				slices.Sort(lat)
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
			})
		}
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	for _, be := range benchBackends() {
		for _, size := range benchSizes {
			b.Run(be.name+"/"+sizeName(size), func(b *testing.B) {
				l := be.open(b)
				payload := make([]byte, size)
				b.SetBytes(int64(size))
				b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 appenders
				start := time.Now()
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						id, err := l.Append(b.Context(), "dml_0", payload, nil)
						if err != nil {
							b.Error(err)
							return
						}
						truncateEvery(b, l, int(n.Add(1)), id)
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}

func BenchmarkRead(b *testing.B) {
	const batch = 1000
	for _, be := range benchBackends()[:2] {
		for _, size := range benchSizes {
			b.Run(be.name+"/"+sizeName(size), func(b *testing.B) {
				l := be.open(b)
				payload := make([]byte, size)
				for range batch {
					if _, err := l.Append(b.Context(), "dml_0", payload, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(size) * batch)
				b.ReportAllocs()
				start := time.Now()
				loops := 0
				for b.Loop() {
					r, err := l.Read(b.Context(), "dml_0", 0)
					if err != nil {
						b.Fatal(err)
					}
					for range batch {
						if _, err := r.Next(b.Context()); err != nil {
							b.Fatal(err)
						}
					}
					r.Close()
					loops++
				}
				b.ReportMetric(float64(loops*batch)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}

// BenchmarkStartEmbedded measures StartEmbedded + Close on a fresh
// directory and on one holding 64 MiB of messages (recovery).
func BenchmarkStartEmbedded(b *testing.B) {
	b.Run("empty", func(b *testing.B) {
		for b.Loop() {
			e, err := logbroker.StartEmbedded(b.Context(), logbroker.EmbedConfig{Dir: b.TempDir()}, nil)
			if err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
	})
	b.Run("64MiB", func(b *testing.B) {
		dir := b.TempDir()
		e, err := logbroker.StartEmbedded(b.Context(), logbroker.EmbedConfig{Dir: dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, 64<<10)
		for range 1024 {
			if _, err := e.Log().Append(b.Context(), "dml_0", payload, nil); err != nil {
				b.Fatal(err)
			}
		}
		e.Close()
		for b.Loop() {
			e, err := logbroker.StartEmbedded(b.Context(), logbroker.EmbedConfig{Dir: dir}, nil)
			if err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
	})
}
