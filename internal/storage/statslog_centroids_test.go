package storage

import (
	"errors"
	"reflect"
	"testing"
)

// TestStatsCentroidsRoundTrip: a stats log with centroids decodes to the
// same centroids; one without them decodes to none (the files written
// before the section existed read as before); a truncated section is
// corrupt.
func TestStatsCentroidsRoundTrip(t *testing.T) {
	pk := []int64{3, 1, 2}
	st := BuildStats(int64Col(pk...), nil)
	st.Centroids = map[int64][][]float32{102: {{1, 2, 3}, {-4, 5.5, 6}}, 101: {{0.25, 0.5}}}
	data, err := EncodeStats(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStats(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Centroids, st.Centroids) {
		t.Fatalf("centroids %v, want %v", got.Centroids, st.Centroids)
	}
	if got.PK.MinInt != 1 || got.PK.MaxInt != 3 || len(got.Blooms) != 1 {
		t.Fatalf("the rest of the stats changed: %+v", got.PK)
	}
	plain, err := EncodeStats(BuildStats(int64Col(pk...), nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeStats(plain); err != nil || got.Centroids != nil {
		t.Fatalf("without centroids: %v, %v", got.Centroids, err)
	}
	if _, err := DecodeStats(data[:len(data)-5]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated centroids: %v", err)
	}
	bad := BuildStats(int64Col(pk...), nil)
	bad.Centroids = map[int64][][]float32{7: {{1, 2}, {3}}}
	if _, err := EncodeStats(bad); err == nil {
		t.Fatal("ragged centroids encoded")
	}
}
