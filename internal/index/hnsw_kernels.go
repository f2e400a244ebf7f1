package index

import "github.com/milvago/milvago/internal/distance"

// Thin local names for the distance kernels used in the HNSW inner loops.

func l2sq(a, b []float32) float32          { return distance.L2Sq(a, b) }
func dot(a, b []float32) float32           { return distance.Dot(a, b) }
func dotU8(q []float32, c []uint8) float32 { return distance.DotU8(q, c) }
