package index

import (
	"context"
	"encoding/binary"
)

// pqCodec is a product quantizer: a vector of dim components is cut into m
// sub-vectors of dsub = dim/m components, and each is replaced by the index
// of its nearest centroid among ksub = 2^nbits in that sub-space's codebook.
// Codes take one byte per sub-vector when nbits <= 8, two (little-endian)
// otherwise.
//
// Search uses asymmetric distance computation (ADC): for a query q it builds
// the table B[j][c] = <q_j, codebook_j[c]> once, and scores a code by m table
// look-ups. IVF_PQ encodes residuals r = x - centroid; for L2 the distance
// |q - centroid - r|^2 expands to
//
//	|q - centroid|^2 + sum_j (|cb_jc|^2 + 2<centroid_j, cb_jc>) - 2 sum_j B[j][c]
//
// where the middle term depends only on the list and the code (FAISS's
// "precomputed table"); it is cached per list when it fits pqTermBudget.
type pqCodec struct {
	dim, m, nbits int
	ksub, dsub    int
	codebooks     []float32 // m*ksub*dsub
}

// pqTermBudget caps the per-list term cache (lists*m*ksub float32s).
const pqTermBudget = 256 << 20

// newPQCodec returns a codec shell with its sizes set.
func newPQCodec(dim, m, nbits int) *pqCodec {
	return &pqCodec{dim: dim, m: m, nbits: nbits, ksub: 1 << nbits, dsub: dim / m}
}

// codeSize is the number of bytes per encoded vector.
func (p *pqCodec) codeSize() int {
	if p.nbits <= 8 {
		return p.m
	}
	return 2 * p.m
}

// train learns the m codebooks from the n = len(data)/dim training vectors
// with one k-means per sub-space.
func (p *pqCodec) train(ctx context.Context, data []float32, seed uint64) error {
	n := len(data) / p.dim
	p.codebooks = make([]float32, p.m*p.ksub*p.dsub)
	sub := make([]float32, n*p.dsub)
	for j := range p.m {
		for i := range n {
			copy(sub[i*p.dsub:(i+1)*p.dsub], data[i*p.dim+j*p.dsub:i*p.dim+(j+1)*p.dsub])
		}
		cb, err := kmeansTrain(ctx, sub, p.dsub, kmeansConfig{K: p.ksub, Iters: 10, MaxTrain: n, Seed: seed + uint64(j)})
		if err != nil {
			return err
		}
		copy(p.codebooks[j*p.ksub*p.dsub:], cb)
	}
	return nil
}

// encode writes the code of x into dst (codeSize bytes).
func (p *pqCodec) encode(x []float32, dst []byte) {
	for j := range p.m {
		cb := p.codebooks[j*p.ksub*p.dsub : (j+1)*p.ksub*p.dsub]
		c := kmeansNearest(x[j*p.dsub:(j+1)*p.dsub], cb, p.ksub, false)
		if p.nbits <= 8 {
			dst[j] = byte(c)
		} else {
			binary.LittleEndian.PutUint16(dst[2*j:], uint16(c))
		}
	}
}

// queryTable fills b (m*ksub) with the inner products of q's sub-vectors
// with every codeword.
func (p *pqCodec) queryTable(q, b []float32) {
	ds := p.dsub
	for j := range p.m {
		qj := q[j*ds : (j+1)*ds]
		cb := p.codebooks[j*p.ksub*ds : (j+1)*p.ksub*ds]
		out := b[j*p.ksub : (j+1)*p.ksub]
		for c := range out {
			row := cb[c*ds : (c+1)*ds]
			var s float32
			for t, v := range qj {
				s += v * row[t]
			}
			out[c] = s
		}
	}
}

// listTerm fills a (m*ksub) with |cb_jc|^2 + 2<cent_j, cb_jc> for the list
// whose centroid is cent.
func (p *pqCodec) listTerm(cent, a []float32) {
	ds := p.dsub
	for j := range p.m {
		cj := cent[j*ds : (j+1)*ds]
		cb := p.codebooks[j*p.ksub*ds : (j+1)*p.ksub*ds]
		out := a[j*p.ksub : (j+1)*p.ksub]
		for c := range out {
			row := cb[c*ds : (c+1)*ds]
			var s float32
			for t, v := range row {
				s += v * (v + 2*cj[t])
			}
			out[c] = s
		}
	}
}

// sum returns sum_j t[j*ksub + code_j] for one code.
func (p *pqCodec) sum(code []byte, t []float32) float32 {
	var s float32
	ksub := p.ksub
	if p.nbits <= 8 {
		t = t[:p.m*ksub]
		for j, c := range code[:p.m] {
			s += t[j*ksub+int(c)]
		}
		return s
	}
	for j := range p.m {
		s += t[j*ksub+int(binary.LittleEndian.Uint16(code[2*j:]))]
	}
	return s
}

// sum2 returns sum_j (a[i] - 2*b[i]) with i = j*ksub + code_j: the L2 ADC
// sum without materialising the per-list table.
func (p *pqCodec) sum2(code []byte, a, b []float32) float32 {
	var s float32
	ksub := p.ksub
	if p.nbits <= 8 {
		a, b = a[:p.m*ksub], b[:p.m*ksub]
		for j, c := range code[:p.m] {
			i := j*ksub + int(c)
			s += a[i] - 2*b[i]
		}
		return s
	}
	for j := range p.m {
		i := j*ksub + int(binary.LittleEndian.Uint16(code[2*j:]))
		s += a[i] - 2*b[i]
	}
	return s
}

// validCodes reports whether every code index is below ksub (a loaded index
// must never index past its tables).
func (p *pqCodec) validCodes(codes []byte) bool {
	if p.nbits == 8 || p.nbits == 16 {
		return true
	}
	if p.nbits < 8 {
		for _, c := range codes {
			if int(c) >= p.ksub {
				return false
			}
		}
		return true
	}
	for i := 0; i+1 < len(codes); i += 2 {
		if int(binary.LittleEndian.Uint16(codes[i:])) >= p.ksub {
			return false
		}
	}
	return true
}

// memoryBytes is the size of the codebooks.
func (p *pqCodec) memoryBytes() int64 { return int64(len(p.codebooks)) * 4 }
