package expr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// MustMatch against evaluation: whenever it says every row of a segment
// matches, evaluating the filter over rows within the statistics must
// select them all; and it does say so for the clustered cases.
func TestMustMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	schema := testSchema()
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	said := 0
	for range 3000 {
		lo := r.Int64N(40)
		hi := lo + r.Int64N(5)
		n := 50
		ids := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
		for i := range ids.Data {
			ids.Data[i] = lo + r.Int64N(hi-lo+1)
		}
		ids.Data[0], ids.Data[1] = lo, hi
		v := func() string {
			if r.IntN(5) == 0 {
				return fmt.Sprintf("%d.5", r.IntN(45))
			}
			return fmt.Sprint(r.IntN(45))
		}
		var text string
		switch r.IntN(5) {
		case 0, 1:
			text = "id " + ops[r.IntN(len(ops))] + " " + v()
		case 2:
			a, b := r.IntN(45), r.IntN(45)
			text = fmt.Sprintf("%d <= id < %d", min(a, b), max(a, b)+1)
		case 3:
			text = fmt.Sprintf("id %s [%s, %s]", []string{"in", "not in"}[r.IntN(2)], v(), v())
		default:
			text = fmt.Sprintf("(id > %s) %s (id < %s)", v(), []string{"and", "or"}[r.IntN(2)], v())
		}
		e, err := Parse(schema, text, nil)
		if err != nil {
			continue
		}
		stats := func(id int64) (any, any, bool) {
			if id == fID {
				return lo, hi, true
			}
			return nil, nil, false
		}
		if !e.MustMatch(stats) {
			continue
		}
		said++
		m, err := e.Eval(context.Background(), &memBatch{n: n, cols: map[int64]column.Column{fID: ids}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Count() != n {
			t.Fatalf("%s over [%d, %d]: MustMatch, but %d of %d rows match", text, lo, hi, m.Count(), n)
		}
	}
	if said < 300 {
		t.Fatalf("MustMatch said yes %d times only", said)
	}
	stats := func(id int64) (any, any, bool) {
		switch id {
		case fID:
			return int64(10), int64(20), true
		case fS:
			return "b", "d", true
		case fI64:
			return int64(0), int64(5), true
		}
		return nil, nil, false
	}
	for text, want := range map[string]bool{
		`id < 100000`: true, `id < 20`: false, `id >= 10 and id <= 20`: true, `id != 25`: true, `id != 15`: false,
		`id in [10]`: false, `i64 > -1 or id > 100`: true, `s > "a"`: false, // s is nullable
		`id > 5 and i64 < 6`: true, `j["a"] > 0`: false,
	} {
		e, err := Parse(schema, text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.MustMatch(stats); got != want {
			t.Errorf("MustMatch(%s) = %v, want %v", text, got, want)
		}
	}
}
