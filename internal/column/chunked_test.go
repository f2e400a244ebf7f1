package column

import (
	"reflect"
	"sync"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// floatRows returns n rows of dim floats, row i all i+start.
func floatRows(start, n, dim int, nullEvery int) *FloatVector {
	v := &FloatVector{Dim: dim, Data: make([]float32, n*dim)}
	for i := range n {
		for j := range dim {
			v.Data[i*dim+j] = float32(start + i)
		}
	}
	if nullEvery > 0 {
		v.Valid = make([]bool, n)
		for i := range v.Valid {
			v.Valid[i] = (start+i)%nullEvery != 0
		}
	}
	return v
}

// TestChunkedMatchesContiguous appends batches of uneven sizes across chunk
// boundaries and checks every read against the same rows appended to a
// plain FloatVector: rows, nulls, Take, Slice at every offset.
func TestChunkedMatchesContiguous(t *testing.T) {
	const dim = 3
	for _, nullEvery := range []int{0, 5} {
		ch := NewChunked(&FloatVector{Dim: dim}, 4)
		flat := &FloatVector{Dim: dim}
		start := 0
		for _, n := range []int{1, 2, 6, 1, 9, 3} {
			b := floatRows(start, n, dim, nullEvery)
			ch.Append(b)
			flat.Append(b)
			start += n
		}
		if ch.Len() != flat.Len() || ch.Len() != 22 {
			t.Fatalf("len %d, want %d", ch.Len(), flat.Len())
		}
		if ch.CapRows() != 24 {
			t.Errorf("CapRows %d, want 24 (five full chunks and a whole sixth)", ch.CapRows())
		}
		all := make([]int, ch.Len())
		for i := range all {
			all[i] = ch.Len() - 1 - i
		}
		if got, want := ch.Take(all), flat.Take(all); !reflect.DeepEqual(got, want) {
			t.Fatalf("nullEvery %d: Take\n got %+v\nwant %+v", nullEvery, got, want)
		}
		for lo := 0; lo <= ch.Len(); lo++ {
			if ch.Slice(lo, lo).Len() != 0 {
				t.Fatalf("Slice(%d, %d) not empty", lo, lo)
			}
			for hi := lo + 1; hi <= ch.Len(); hi++ {
				view := ch.Slice(lo, hi)
				idx := make([]int, hi-lo)
				for i := range idx {
					idx[i] = i
				}
				got, want := view.Take(idx), flat.Slice(lo, hi).Take(idx)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Slice(%d, %d): got %+v, want %+v", lo, hi, got, want)
				}
				for i := range idx {
					if view.IsNull(i) != flat.IsNull(lo+i) {
						t.Fatalf("Slice(%d, %d).IsNull(%d) = %v", lo, hi, i, view.IsNull(i))
					}
				}
				if hi-lo >= 2 { // a view of a view
					inner := view.Slice(1, hi-lo)
					if got, want := inner.Take(idx[:hi-lo-1]), flat.Slice(lo+1, hi).Take(idx[:hi-lo-1]); !reflect.DeepEqual(got, want) {
						t.Fatalf("Slice(%d, %d).Slice(1, ..): got %+v, want %+v", lo, hi, got, want)
					}
				}
			}
		}
		// Appending a Chunked copies its rows.
		cp := ch.Empty()
		cp.Append(ch.Slice(3, 17))
		idx := []int{0, 5, 13}
		if got, want := cp.Take(idx), flat.Slice(3, 17).Take(idx); !reflect.DeepEqual(got, want) {
			t.Fatalf("append of a view: got %+v, want %+v", got, want)
		}
	}
}

// TestChunkedRuns checks Run's bounds over a view that starts inside a chunk.
func TestChunkedRuns(t *testing.T) {
	ch := NewChunked(&ByteVector{Type: schemapb.DataType_Int8Vector, Dim: 2}, 4)
	ch.Append(&ByteVector{Type: schemapb.DataType_Int8Vector, Dim: 2, Data: make([]byte, 2*10)})
	view := ch.Slice(3, 9).(*Chunked)
	var runs [][2]int
	for i := 0; i < view.Len(); {
		_, base, end := view.Run(i)
		runs = append(runs, [2]int{base, end})
		i = end
	}
	if want := [][2]int{{-3, 1}, {1, 5}, {5, 6}}; !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs %v, want %v", runs, want)
	}
}

// TestChunkedNoCopyOnGrowth: once a chunk is full its storage never moves.
func TestChunkedNoCopyOnGrowth(t *testing.T) {
	ch := NewChunked(&FloatVector{Dim: 2}, 8)
	ch.Append(floatRows(0, 8, 2, 0))
	first, _, _ := ch.Run(0)
	p := &first.(*FloatVector).Data[0]
	for i := range 100 {
		ch.Append(floatRows(8+i, 1, 2, 0))
	}
	again, _, _ := ch.Run(0)
	if &again.(*FloatVector).Data[0] != p {
		t.Fatal("the first chunk moved")
	}
}

// TestChunkedViewsWhileAppending reads views while the owner appends (run
// with -race): a view sees exactly its rows.
func TestChunkedViewsWhileAppending(t *testing.T) {
	const dim = 4
	ch := NewChunked(&FloatVector{Dim: dim}, 16)
	var mu sync.RWMutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 300 {
			mu.Lock()
			ch.Append(floatRows(i*3, 3, dim, 0))
			mu.Unlock()
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 300 {
				mu.RLock()
				view := ch.Slice(0, ch.Len()).(*Chunked)
				mu.RUnlock()
				for i := 0; i < view.Len(); i++ {
					c, base, _ := view.Run(i)
					if got := c.(*FloatVector).Row(i - base)[dim-1]; got != float32(i) {
						t.Errorf("row %d reads %v", i, got)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
