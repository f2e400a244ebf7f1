// Package memtrim hands freed Go heap back to the operating system once a
// server has released a large amount of memory.
//
// A standalone server allocates in bursts: a growing segment and the data
// node's insert buffer hold every row of a segment until it is flushed and
// handed off, then both are dropped at once. The Go runtime keeps such freed
// heap and returns it only slowly, and keeps part of it for good when the
// process goes quiet (no allocations, so no GC to lower the heap goal):
// measured after inserting, flushing and indexing 100k x 768 floats, 27 MB of
// live heap held 2.4 GB of resident memory for tens of seconds and 640 MB
// after that. A Trimmer checks now and then how much freed heap the runtime
// still holds and, when that is large both absolutely and relative to the live
// heap, calls debug.FreeOSMemory.
package memtrim

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Config says how often to check and how much freed heap to tolerate.
type Config struct {
	// Interval between checks (default 10 s). A check reads two runtime
	// metrics: it costs microseconds.
	Interval time.Duration
	// MinFreeBytes is the freed-but-held heap below which nothing is done
	// (default 64 MiB).
	MinFreeBytes uint64
}

// Default returns the configuration a server uses.
func Default() Config { return Config{Interval: 10 * time.Second, MinFreeBytes: 64 << 20} }

const (
	metricFree    = "/memory/classes/heap/free:bytes"    // free, not yet returned to the OS
	metricObjects = "/memory/classes/heap/objects:bytes" // live objects and not yet swept garbage
)

// Trimmer returns freed heap to the OS; see the package documentation.
type Trimmer struct {
	cfg     Config
	logger  *slog.Logger
	samples []metrics.Sample
	release func() // debug.FreeOSMemory; replaced in tests
}

// New returns a Trimmer; zero fields of cfg take their defaults.
func New(cfg Config, logger *slog.Logger) *Trimmer {
	def := Default()
	if cfg.Interval <= 0 {
		cfg.Interval = def.Interval
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = def.MinFreeBytes
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Trimmer{
		cfg:     cfg,
		logger:  logger,
		samples: []metrics.Sample{{Name: metricFree}, {Name: metricObjects}},
		release: debug.FreeOSMemory,
	}
}

// Run checks every Interval until ctx ends. It always returns nil.
func (t *Trimmer) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			t.Check()
		}
	}
}

// Check returns freed heap to the OS if the runtime holds at least
// MinFreeBytes of it and more than the live heap. It reports whether it did.
func (t *Trimmer) Check() bool {
	metrics.Read(t.samples)
	free, live := uint64Value(t.samples[0]), uint64Value(t.samples[1])
	if free < t.cfg.MinFreeBytes || free <= live {
		return false
	}
	start := time.Now()
	t.release()
	t.logger.Debug("memtrim: returned freed heap to the OS",
		"free_mb", free>>20, "live_mb", live>>20, "took", time.Since(start))
	return true
}

func uint64Value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}
