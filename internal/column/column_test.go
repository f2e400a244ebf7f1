package column

import "testing"

// BenchmarkFloatVectorAppend appends 100 insert batches of 1,000 x 768
// floats, as a data node's segment buffer receives them.
func BenchmarkFloatVectorAppend(b *testing.B) {
	batch := &FloatVector{Dim: 768, Data: make([]float32, 768*1000)}
	b.SetBytes(int64(len(batch.Data)) * 4 * 100)
	for range b.N {
		buf := batch.Empty()
		for range 100 {
			buf.Append(batch)
		}
		if buf.Len() != 100000 {
			b.Fatal(buf.Len())
		}
	}
}
