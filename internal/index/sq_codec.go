package index

import "math"

// sqCodec is an 8-bit uniform scalar quantizer with its own range per
// dimension (FAISS's QT_8bit): component j of a vector is stored as the byte
// c = round((x - vmin[j]) / scale[j]) and decodes to vmin[j] + c*scale[j].
//
// Scoring never decodes: with qs[j] = q[j]*scale[j] the inner product of a
// query with a decoded vector is q·vmin + distance.DotU8(qs, c), and the squared L2
// distance is |q|^2 - 2 q·x + |x|^2 with |x|^2 stored per vector at build.
type sqCodec struct {
	vmin  []float32
	scale []float32
}

// sqTrain computes the per-dimension ranges of n vectors read through row
// (which may write into its dim-sized scratch argument).
func sqTrain(n, dim int, row func(i int, buf []float32) []float32) *sqCodec {
	c := &sqCodec{vmin: make([]float32, dim), scale: make([]float32, dim)}
	vmax := make([]float32, dim)
	for j := range dim {
		c.vmin[j] = float32(math.Inf(1))
		vmax[j] = float32(math.Inf(-1))
	}
	buf := make([]float32, dim)
	for i := range n {
		for j, v := range row(i, buf) {
			c.vmin[j] = min(c.vmin[j], v)
			vmax[j] = max(vmax[j], v)
		}
	}
	for j := range dim {
		if c.vmin[j] > vmax[j] { // no data
			c.vmin[j], vmax[j] = 0, 0
		}
		c.scale[j] = (vmax[j] - c.vmin[j]) / 255
	}
	return c
}

// encode quantizes x into dst (len(x) bytes) and returns the squared norm
// of the decoded vector.
func (c *sqCodec) encode(x []float32, dst []byte) float32 {
	var norm float32
	for j, v := range x {
		var code float32
		if s := c.scale[j]; s > 0 {
			code = float32(math.Round(float64((v - c.vmin[j]) / s)))
			code = min(max(code, 0), 255)
		}
		dst[j] = byte(code)
		d := c.vmin[j] + code*c.scale[j]
		norm += d * d
	}
	return norm
}

// prepare fills qs with q*scale and returns q·vmin and |q|^2.
func (c *sqCodec) prepare(q, qs []float32) (base, qnorm float32) {
	for j, v := range q {
		qs[j] = v * c.scale[j]
		base += v * c.vmin[j]
		qnorm += v * v
	}
	return base, qnorm
}

// memoryBytes is the size of the codec's tables.
func (c *sqCodec) memoryBytes() int64 { return int64(len(c.vmin)+len(c.scale)) * 4 }
