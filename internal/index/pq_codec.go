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
// of q to the decoded vector centroid + r expands to
//
//	|q - centroid|^2 - 2 sum_j B[j][code_j] + (|r|^2 + 2<centroid, r>)
//
// where the first term is the coarse distance already computed to pick the
// list, and the last depends only on the stored vector: it is kept per vector
// (4 bytes), so a probed list needs no per-list table at all.
type pqCodec struct {
	dim, m, nbits int
	ksub, dsub    int
	codebooks     []float32 // m*ksub*dsub
}

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
// with one k-means per sub-space; onSub, if set, is called after each sub-space.
func (p *pqCodec) train(ctx context.Context, data []float32, seed uint64, onSub func()) error {
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
		if onSub != nil {
			onSub()
		}
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
	if ds == 4 {
		p.queryTable4(q, b)
		return
	}
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

// queryTable4 is queryTable for 4-component sub-vectors, unrolled.
func (p *pqCodec) queryTable4(q, b []float32) {
	ksub := p.ksub
	for j := range p.m {
		q0, q1, q2, q3 := q[j*4], q[j*4+1], q[j*4+2], q[j*4+3]
		cb := p.codebooks[j*ksub*4 : (j+1)*ksub*4]
		out := b[j*ksub : (j+1)*ksub]
		for c := range out {
			r := cb[c*4 : c*4+4 : c*4+4]
			out[c] = (q0*r[0] + q1*r[1]) + (q2*r[2] + q3*r[3])
		}
	}
}

// normTerm returns |r|^2 + 2<cent, r> for the residual r decoded from code:
// the query-independent part of the L2 ADC distance.
func (p *pqCodec) normTerm(code []byte, cent []float32) float32 {
	ds := p.dsub
	var s float32
	for j := range p.m {
		c := p.codeAt(code, j)
		row := p.codebooks[(j*p.ksub+c)*ds : (j*p.ksub+c+1)*ds]
		cj := cent[j*ds : (j+1)*ds]
		for t, v := range row {
			s += v * (v + 2*cj[t])
		}
	}
	return s
}

// codeAt returns the j-th sub-quantizer index of code.
func (p *pqCodec) codeAt(code []byte, j int) int {
	if p.nbits <= 8 {
		return int(code[j])
	}
	return int(binary.LittleEndian.Uint16(code[2*j:]))
}

// sum returns sum_j t[j*ksub + code_j] for one code.
func (p *pqCodec) sum(code []byte, t []float32) float32 {
	ksub := p.ksub
	if p.nbits == 8 {
		return pqSum8(code[:p.m], t[:p.m*256])
	}
	var s float32
	for j := range p.m {
		s += t[j*ksub+p.codeAt(code, j)]
	}
	return s
}

// pqSum8 is sum for 8-bit codes, with four accumulators.
func pqSum8(code []byte, t []float32) float32 {
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(code) && (j+4)*256 <= len(t); j += 4 {
		s0 += t[j*256+int(code[j])]
		s1 += t[(j+1)*256+int(code[j+1])]
		s2 += t[(j+2)*256+int(code[j+2])]
		s3 += t[(j+3)*256+int(code[j+3])]
	}
	for ; j < len(code); j++ {
		s0 += t[j*256+int(code[j])]
	}
	return (s0 + s1) + (s2 + s3)
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
