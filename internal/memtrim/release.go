package memtrim

import (
	"runtime"
	"runtime/debug"
	"time"
)

// Release returns the process's garbage and free heap to the operating
// system, around a large piece of work (an index build), and reports how
// long it took.
//
// Before: a server that has just flushed a segment holds the data node's
// dropped buffers as uncollected garbage, plus the sync.Pool buffers of the
// log broker's last writes, until allocation drives a collection; the
// build's own memory (its input mapped from the binlog, its graph) would
// then come on top of them, so the peak is the garbage plus the build.
// Measured (200k x 128, HNSW): 368 MB resident after the flush, most of it
// garbage, for 98 MB of vectors.
//
// After: the build's graph and scratch are garbage once its index file is
// written, and a server that goes quiet allocates nothing that would
// collect them; the pacer's limit still stands at the build's peak, so the
// scavenger keeps the spans too. The Trimmer returns them at its next quiet
// check (10-20 s later); releasing at once makes the rest RSS follow the
// build's end.
//
// The first collection moves sync.Pool contents to the pools' victim
// caches; debug.FreeOSMemory's collection frees them and returns every
// free span. Two collections of a heap that mostly holds garbage cost
// milliseconds to a few hundred, against builds of seconds to hours; the
// caller skips small work, where it would not pay.
func Release() time.Duration {
	start := time.Now()
	runtime.GC()
	debug.FreeOSMemory()
	return time.Since(start)
}
