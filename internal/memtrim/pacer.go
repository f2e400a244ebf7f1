package memtrim

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The Go runtime lets the heap grow to twice the live heap before it
// collects (GOGC=100), and keeps what it freed resident until its
// scavenger returns it. For a server whose live heap is its data (insert
// buffers, growing segments, a segment being flushed or indexed) that
// doubles the resident memory in every burst: measured, a 512 MB ingest
// peaked near 5x its size before any index was built. A Pacer bounds the
// slack instead: after every collection it sets the runtime's soft memory
// limit to what the process holds besides the heap, plus the live heap,
// plus a headroom proportional to it (Headroom, at least MinHeadroomBytes;
// an eighth of the live heap and at least 64 MiB by default).
// The collector then runs before the heap passes the limit and the
// scavenger returns memory above it, so resident memory follows the live
// data within the headroom. The limit is soft: the runtime bounds the
// collector's CPU share, so a burst that outgrows the headroom before the
// next collection costs memory, never a stall; the next collection raises
// the limit to the new live heap.

// PacerConfig tunes a Pacer.
type PacerConfig struct {
	// Headroom is the heap growth allowed between collections, as a
	// fraction of the live heap (default DefaultHeadroom; GOGC=100
	// allows 1.0).
	Headroom float64
	// MinHeadroomBytes is the least growth allowed (default
	// DefaultMinHeadroomBytes): a small heap does not collect after
	// every few allocations.
	MinHeadroomBytes uint64
}

// The defaults are sized for a server whose live heap is mostly its data:
// growing segments, insert buffers and decoded log messages, all
// pointer-free []float32 and []int64 that a collection does not scan. A
// collection's cost follows the heap with pointers (the metadata, the
// log broker's and gRPC's state: tens of MB), not the data, so collecting
// twice as often costs some CPU but no stall, while the headroom is
// resident memory on top of the data at the peak of every ingest.
// Measured (docs/benchmarks.md, mem12; a shared machine): a quarter of the
// live heap and at least 64 MiB cost 39-49 MB more at the peak of a 200k x
// 128 ingest (98 MB raw) and 60-74 MB more at a 1M x 128 one than these
// defaults; the 200k ingest ran 69-78 collections instead of 33-40 and
// its server used about 2 s more CPU (8.4 s against 6.4 s). Most of
// those extra collections come from the 32 MiB floor, most of the 1M
// saving from the eighth: the floor stays at 64 MiB, so a small heap
// collects no more often than before and only large heaps (where the
// headroom is many MB of resident memory) pay for the eighth.
const (
	DefaultHeadroom         = 0.125
	DefaultMinHeadroomBytes = 64 << 20
)

// Pacer sets the soft memory limit after each collection; see above.
type Pacer struct {
	cfg     PacerConfig
	samples []metrics.Sample
	set     func(int64) int64 // debug.SetMemoryLimit; replaced in tests

	mu      sync.Mutex
	stopped bool
	limit   int64 // the last limit set
}

const (
	metricTotal    = "/memory/classes/total:bytes"
	metricReleased = "/memory/classes/heap/released:bytes"
)

// NewPacer returns a Pacer; zero fields of cfg take their defaults.
func NewPacer(cfg PacerConfig) *Pacer {
	if cfg.Headroom <= 0 {
		cfg.Headroom = DefaultHeadroom
	}
	if cfg.MinHeadroomBytes == 0 {
		cfg.MinHeadroomBytes = DefaultMinHeadroomBytes
	}
	return &Pacer{
		cfg: cfg,
		samples: []metrics.Sample{{Name: metricTotal}, {Name: metricReleased}, {Name: metricFree},
			{Name: metricObjects}, {Name: metricLive}},
		set: debug.SetMemoryLimit,
	}
}

// Start sets the limit now and after every collection until Stop. It does
// nothing when the operator set GOMEMLIMIT: their limit stands.
func (p *Pacer) Start() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	p.Update()
	p.arm()
}

// Stop stops updating the limit and removes it.
func (p *Pacer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if p.limit != 0 {
		p.set(math.MaxInt64)
		p.limit = 0
	}
}

// sentinel is garbage whose finalizer runs after the collection that
// finds it unreachable: the pacer's hook into every GC cycle.
type sentinel struct{ _ [16]byte }

func (p *Pacer) arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		if p.Update() {
			p.arm()
		}
	})
}

// Update sets the limit from the heap as the last collection left it. It
// reports false, setting nothing, once the pacer is stopped.
func (p *Pacer) Update() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.limit = p.next()
	p.set(p.limit)
	return true
}

// next computes the limit: the runtime's memory minus the heap's objects
// and free spans (what it holds besides the heap: stacks, metadata,
// fragmentation), plus the live heap and the headroom.
func (p *Pacer) next() int64 {
	metrics.Read(p.samples)
	total, released := uint64Value(p.samples[0]), uint64Value(p.samples[1])
	free, objects, live := uint64Value(p.samples[2]), uint64Value(p.samples[3]), uint64Value(p.samples[4])
	held := total - min(total, released)
	other := held - min(held, free+objects)
	headroom := max(p.cfg.MinHeadroomBytes, uint64(float64(live)*p.cfg.Headroom))
	return int64(min(other+live+headroom, math.MaxInt64/2))
}

// The memory limit is the process's: servers in one process (tests run
// several) share one pacer, started by the first and stopped by the last.
var shared struct {
	mu    sync.Mutex
	users int
	p     *Pacer
}

// acquirePacer starts the shared pacer (with cfg, if it is the first user)
// and returns its release.
func acquirePacer(cfg PacerConfig) (release func()) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.users == 0 {
		shared.p = NewPacer(cfg)
		shared.p.Start()
	}
	shared.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			shared.mu.Lock()
			defer shared.mu.Unlock()
			if shared.users--; shared.users == 0 {
				shared.p.Stop()
				shared.p = nil
			}
		})
	}
}
