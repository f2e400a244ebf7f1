package index

import (
	"math"

	"github.com/milvago/milvago/internal/distance"
)

// sq8 is a per-dimension 8-bit scalar quantiser (FAISS QT_8bit, which
// knowhere's HNSW_SQ SQ8 uses): component i of a vector is stored as a code
// c in [0, 255] that decodes to vmin[i] + c*scale[i].
//
// Scoring never decodes: with qs[i] = q[i]*scale[i] prepared once per query,
//
//	q·x      = q·vmin + Σ qs[i]*c[i]                      (DotU8 kernel)
//	|q - x|² = |q|² - 2 q·x + |x|²                          (|x|² kept per row)
type sq8 struct {
	vmin, scale []float32 // per dimension
	codes       []uint8   // n*dim
	norms       []float32 // per row: |decoded x|^2 (used by L2)
}

// train sets the per-dimension ranges from vecs and encodes every row.
func (q *sq8) train(vecs []float32, dim int) {
	n := len(vecs) / dim
	q.vmin = make([]float32, dim)
	vmax := make([]float32, dim)
	for j := range dim {
		q.vmin[j], vmax[j] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	for i := range n {
		row := vecs[i*dim : (i+1)*dim]
		for j, v := range row {
			q.vmin[j] = min(q.vmin[j], v)
			vmax[j] = max(vmax[j], v)
		}
	}
	q.scale = make([]float32, dim)
	for j := range dim {
		if n == 0 {
			q.vmin[j] = 0
		}
		if r := vmax[j] - q.vmin[j]; r > 0 {
			q.scale[j] = r / 255
		}
	}
	q.codes = make([]uint8, n*dim)
	q.norms = make([]float32, n)
	dec := make([]float32, dim)
	for i := range n {
		row, code := vecs[i*dim:(i+1)*dim], q.codes[i*dim:(i+1)*dim]
		for j, v := range row {
			var c float32
			if q.scale[j] > 0 {
				c = float32(math.Round(float64((v - q.vmin[j]) / q.scale[j])))
				c = min(max(c, 0), 255)
			}
			code[j] = uint8(c)
			dec[j] = q.vmin[j] + c*q.scale[j]
		}
		q.norms[i] = distance.Dot(dec, dec)
	}
}

// code returns row id's codes.
func (q *sq8) code(id uint32, dim int) []uint8 {
	o := int(id) * dim
	return q.codes[o : o+dim : o+dim]
}

// prepare fills the SQ fields of hq for query vector v.
func (q *sq8) prepare(v []float32, hq *hnswQuery) {
	if cap(hq.qs) < len(v) {
		hq.qs = make([]float32, len(v))
	}
	hq.qs = hq.qs[:len(v)]
	for i, x := range v {
		hq.qs[i] = x * q.scale[i]
	}
	hq.qmin = distance.Dot(v, q.vmin)
	hq.qnorm = distance.Dot(v, v)
}
