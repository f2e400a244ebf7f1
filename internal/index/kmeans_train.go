package index

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/milvago/milvago/internal/distance"
)

// kmeansConfig configures one k-means run.
type kmeansConfig struct {
	K        int    // clusters
	Iters    int    // Lloyd iterations (default 10, as FAISS's IVF training)
	MaxTrain int    // train on a random sample of at most this many points (0: 256*K, FAISS's max_points_per_centroid)
	Seed     uint64 // sampling and initialisation seed: the same data and seed give the same centroids
	// Spherical assigns by largest inner product and normalises centroids
	// after each update (the coarse quantizer of IP and COSINE indexes).
	Spherical bool
	// OnIter, if set, is called after each iteration (progress reporting).
	OnIter func()
	// PlusPlus seeds by k-means++ (Arthur and Vassilvitskii 2007) instead
	// of K random points: each next seed is a sample point drawn with
	// probability proportional to its squared L2 distance to the nearest
	// seed so far. Costs one more pass of n*K distances (about a tenth of
	// the training) and lands far less often in a local minimum that puts
	// two groups under one centroid. L2 only.
	PlusPlus bool
}

// kmeansTrain clusters the n = len(data)/dim points of data into cfg.K
// centroids (K*dim values, row-major).
//
// Initialisation picks K distinct sample points at random (FAISS does the
// same). When there are fewer points than clusters, every point becomes a
// centroid and the remaining centroids repeat them: lists assigned to a
// duplicate stay empty, which is harmless for IVF and PQ. Empty clusters are
// re-seeded by splitting the largest cluster, as FAISS does. Assignment runs
// on all cores.
func kmeansTrain(ctx context.Context, data []float32, dim int, cfg kmeansConfig) ([]float32, error) {
	return kmeansTrainRows(ctx, len(data)/dim, func(i int) []float32 { return data[i*dim : (i+1)*dim] }, data, dim, cfg)
}

// kmeansTrainRows is kmeansTrain over n points read through row. data, if
// not nil, holds the same points contiguously (used as the sample when no
// subsampling is needed); else only the points sampled are copied. Same
// points, same seed: same centroids either way.
func kmeansTrainRows(ctx context.Context, n int, row func(i int) []float32, data []float32, dim int, cfg kmeansConfig) ([]float32, error) {
	k := cfg.K
	iters := cfg.Iters
	if iters <= 0 {
		iters = 10
	}
	maxTrain := cfg.MaxTrain
	if maxTrain <= 0 {
		maxTrain = 256 * k
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d))
	cent := make([]float32, k*dim)
	if n == 0 || k == 0 {
		return cent, nil
	}

	// Sample the training points.
	train := data
	switch {
	case n > maxTrain:
		perm := rng.Perm(n)[:maxTrain]
		train = make([]float32, maxTrain*dim)
		for i, p := range perm {
			copy(train[i*dim:(i+1)*dim], row(p))
		}
		n = maxTrain
	case train == nil:
		train = make([]float32, n*dim)
		for i := range n {
			copy(train[i*dim:(i+1)*dim], row(i))
		}
	}

	// Initialise from distinct random points (repeating when n < k), or
	// by k-means++.
	if cfg.PlusPlus && !cfg.Spherical && n > k {
		kmeansPlusPlusSeed(train, dim, cent, k, rng)
	} else {
		perm := rng.Perm(n)
		for c := range k {
			p := perm[c%n]
			copy(cent[c*dim:(c+1)*dim], train[p*dim:(p+1)*dim])
		}
	}
	if cfg.Spherical {
		kmeansNormalize(cent, dim)
	}
	if n <= k {
		return cent, nil
	}

	assign := make([]int32, n)
	sums := make([]float64, k*dim)
	counts := make([]int, k)
	for range iters {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		kmeansAssign(train, dim, cent, k, cfg.Spherical, assign)
		clear(sums)
		clear(counts)
		for i, c := range assign {
			counts[c]++
			row := train[i*dim : (i+1)*dim]
			s := sums[int(c)*dim : (int(c)+1)*dim]
			for j, v := range row {
				s[j] += float64(v)
			}
		}
		for c := range k {
			if counts[c] == 0 {
				continue
			}
			inv := 1 / float64(counts[c])
			for j := range dim {
				cent[c*dim+j] = float32(sums[c*dim+j] * inv)
			}
		}
		kmeansSplitEmpty(cent, dim, counts, rng)
		if cfg.Spherical {
			kmeansNormalize(cent, dim)
		}
		if cfg.OnIter != nil {
			cfg.OnIter()
		}
	}
	return cent, nil
}

// kmeansPlusPlusSeed fills cent with k seeds drawn from the n > k points
// of train by k-means++: the first uniformly, each next with probability
// proportional to its squared L2 distance to the nearest seed already
// drawn (a point already drawn has weight 0, so seeds are distinct while
// distinct points remain). The distance update runs on all cores; the
// draws are sequential, so a seed gives the same seeds.
func kmeansPlusPlusSeed(train []float32, dim int, cent []float32, k int, rng *rand.Rand) {
	n := len(train) / dim
	first := rng.IntN(n)
	copy(cent[:dim], train[first*dim:(first+1)*dim])
	near := make([]float32, n) // squared distance to the nearest seed
	for i := range near {
		near[i] = float32(math.Inf(1))
	}
	for c := 1; c <= k; c++ {
		seed := cent[(c-1)*dim : c*dim]
		kmeansParallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if d := distance.L2Sq(train[i*dim:(i+1)*dim], seed); d < near[i] {
					near[i] = d
				}
			}
		})
		if c == k {
			return
		}
		var total float64
		for _, d := range near {
			total += float64(d)
		}
		pick := rng.IntN(n) // every point coincides with a seed: any will do
		if total > 0 {
			u := rng.Float64() * total
			for i, d := range near {
				if u -= float64(d); u < 0 && d > 0 {
					pick = i
					break
				}
			}
			if u >= 0 { // rounding: the last point with weight
				for i := n - 1; i >= 0; i-- {
					if near[i] > 0 {
						pick = i
						break
					}
				}
			}
		}
		copy(cent[c*dim:(c+1)*dim], train[pick*dim:(pick+1)*dim])
	}
}

// kmeansSplitEmpty re-seeds each empty cluster with a slightly perturbed copy
// of a large cluster's centroid (chosen with probability proportional to its
// size), and gives each half of the donor's points.
func kmeansSplitEmpty(cent []float32, dim int, counts []int, rng *rand.Rand) {
	total := 0
	for _, c := range counts {
		total += c
	}
	const eps = 1.0 / 1024
	for c := range counts {
		if counts[c] != 0 {
			continue
		}
		// Pick a donor cluster with more than one point.
		donor := -1
		for tries := 0; tries < 64 && donor < 0; tries++ {
			r := rng.IntN(total)
			for j, cnt := range counts {
				if r < cnt {
					if cnt > 1 {
						donor = j
					}
					break
				}
				r -= cnt
			}
		}
		if donor < 0 {
			continue
		}
		dst, src := cent[c*dim:(c+1)*dim], cent[donor*dim:(donor+1)*dim]
		for j := range dim {
			if j%2 == 0 {
				dst[j] = src[j] * (1 + eps)
				src[j] *= 1 - eps
			} else {
				dst[j] = src[j] * (1 - eps)
				src[j] *= 1 + eps
			}
		}
		counts[c] = counts[donor] / 2
		counts[donor] -= counts[c]
	}
}

// kmeansNormalize scales every centroid to unit length.
func kmeansNormalize(cent []float32, dim int) {
	for c := 0; c < len(cent)/dim; c++ {
		distance.Normalize(cent[c*dim : (c+1)*dim])
	}
}

// kmeansAssign writes into assign[i] the nearest centroid of point i, in
// parallel over all cores.
func kmeansAssign(points []float32, dim int, cent []float32, k int, spherical bool, assign []int32) {
	kmeansAssignRows(len(points)/dim, dim, cent, k, spherical, func(i int, _ []float32) []float32 {
		return points[i*dim : (i+1)*dim]
	}, assign)
}

// kmeansAssignRows is kmeansAssign over n points read through row, which
// returns point i (possibly written into buf, a dim-sized scratch slice).
func kmeansAssignRows(n, dim int, cent []float32, k int, spherical bool, row func(i int, buf []float32) []float32, assign []int32) {
	kmeansParallel(n, func(lo, hi int) {
		buf := make([]float32, dim)
		if dim <= 8 {
			for i := lo; i < hi; i++ {
				assign[i] = int32(kmeansNearest(row(i, buf), cent, k, spherical))
			}
			return
		}
		// One batch call per point: the batch kernels can block over centroids.
		scores := make([]float32, k)
		for i := lo; i < hi; i++ {
			x := row(i, buf)
			best := 0
			if spherical {
				distance.DotBatch(x, cent[:k*dim], scores)
				for c, s := range scores {
					if s > scores[best] {
						best = c
					}
				}
			} else {
				distance.L2SqBatch(x, cent[:k*dim], scores)
				for c, s := range scores {
					if s < scores[best] {
						best = c
					}
				}
			}
			assign[i] = int32(best)
		}
	})
}

// kmeansNearest returns the centroid closest to x: smallest squared L2, or
// largest inner product when spherical.
func kmeansNearest(x, cent []float32, k int, spherical bool) int {
	dim := len(x)
	best, bestD := 0, float32(math.Inf(1))
	if dim == 4 && !spherical {
		return kmeansNearest4(x, cent, k)
	}
	if dim <= 8 {
		// Sub-quantizers of PQ: a call into the kernel costs more than the work.
		for c := range k {
			row := cent[c*dim : (c+1)*dim]
			var d float32
			if spherical {
				for j, v := range x {
					d -= v * row[j]
				}
			} else {
				for j, v := range x {
					t := v - row[j]
					d += t * t
				}
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		return best
	}
	for c := range k {
		row := cent[c*dim : (c+1)*dim]
		var d float32
		if spherical {
			d = -distance.Dot(x, row)
		} else {
			d = distance.L2Sq(x, row)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// kmeansParallel splits [0, n) into contiguous chunks and runs fn on them
// from GOMAXPROCS goroutines, returning when all are done.
func kmeansParallel(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 256 || workers == 1 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// kmeansNearest4 is kmeansNearest for 4-component L2 sub-vectors, the PQ
// shape FAISS's benchmarks use (m = dim/4): unrolled, no kernel call.
func kmeansNearest4(x, cent []float32, k int) int {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	best, bestD := 0, float32(math.Inf(1))
	cent = cent[:k*4]
	for c := 0; c+4 <= len(cent); c += 4 {
		r := cent[c : c+4 : c+4]
		d0, d1, d2, d3 := x0-r[0], x1-r[1], x2-r[2], x3-r[3]
		if d := (d0*d0 + d1*d1) + (d2*d2 + d3*d3); d < bestD {
			best, bestD = c/4, d
		}
	}
	return best
}
