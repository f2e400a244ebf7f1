package distance

// L2SqBatch writes into out[i] the squared L2 distance between q and row i of
// rows, a row-major block of len(out) rows of len(q) values each.
func L2SqBatch(q, rows []float32, out []float32) {
	d := len(q)
	_ = rows[len(out)*d-1]
	for i := range out {
		out[i] = L2Sq(q, rows[i*d:(i+1)*d])
	}
}

// DotBatch writes into out[i] the inner product of q and row i of rows, a
// row-major block of len(out) rows of len(q) values each.
func DotBatch(q, rows []float32, out []float32) {
	d := len(q)
	_ = rows[len(out)*d-1]
	for i := range out {
		out[i] = Dot(q, rows[i*d:(i+1)*d])
	}
}
