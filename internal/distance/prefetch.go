package distance

import "unsafe"

// Prefetch asks the CPU to pull v's cache lines into L1 ahead of use (a
// no-op where there is no assembly). Graph searches call it on the next
// neighbour's vector while scoring the current one, to overlap memory
// latency with arithmetic.
func Prefetch(v []float32) {
	if len(v) > 0 {
		prefetchAMD64((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	}
}

// PrefetchBytes is Prefetch for byte vectors (SQ8 codes, binary vectors).
func PrefetchBytes(v []byte) {
	if len(v) > 0 {
		prefetchAMD64(unsafe.SliceData(v), len(v))
	}
}

// PrefetchUint32 is Prefetch for id lists (graph adjacency).
func PrefetchUint32(v []uint32) {
	if len(v) > 0 {
		prefetchAMD64((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	}
}
