package index

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// SUBSTRUCTURE and SUPERSTRUCTURE on BIN_FLAT return exactly the matching
// rows, score 0; BIN_IVF_FLAT refuses them.
func TestBinFlatStructureMetrics(t *testing.T) {
	rows := []byte{0b1111, 0b0011, 0b0001, 0b1000, 0b0111}
	q := []byte{0b0011}
	for _, tc := range []struct {
		metric Metric
		want   []int64
	}{
		{Substructure, []int64{0, 1, 4}}, // rows holding every query bit
		{Superstructure, []int64{1, 2}},  // rows whose bits the query holds
	} {
		idx, err := New(Spec{Type: TypeBinFlat, Metric: tc.metric, Dim: 8})
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Build(context.Background(), Dataset{Dim: 8, Binary: rows}); err != nil {
			t.Fatal(err)
		}
		res, err := idx.Search(context.Background(), Dataset{Dim: 8, Binary: q}, SearchParams{K: 4})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for i, l := range res.Labels {
			if l < 0 {
				continue
			}
			if res.Distances[i] != 0 {
				t.Errorf("%s: row %d scored %g", tc.metric, l, res.Distances[i])
			}
			got = append(got, l)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: rows %v, want %v", tc.metric, got, tc.want)
		}
	}
	if _, err := New(Spec{Type: TypeBinIVFFlat, Metric: Substructure, Dim: 8}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("BIN_IVF_FLAT SUBSTRUCTURE: %v", err)
	}
}
