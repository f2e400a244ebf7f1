package storage

import (
	"errors"
	"slices"
	"testing"
)

func TestCentroidsFileRoundTrip(t *testing.T) {
	cent := []float32{1, 2, 3, -4, 5.5, 0, 7, 8, 9}
	b := EncodeCentroids(3, cent)
	dim, got, err := DecodeCentroids(b)
	if err != nil || dim != 3 || !slices.Equal(got, cent) {
		t.Fatalf("decode: dim %d, %v, %v; want 3, %v", dim, got, err, cent)
	}
	if AnalyzeFilePath(42, CentroidsFile) != "analyze_stats/42/centroids" || AnalyzeFilePath(42, "") != "analyze_stats/42/" {
		t.Fatalf("paths %q %q", AnalyzeFilePath(42, CentroidsFile), AnalyzeFilePath(42, ""))
	}
	bad := slices.Clone(b)
	bad[len(bad)-1] ^= 1
	if _, _, err := DecodeCentroids(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped payload bit: %v, want ErrCorrupt", err)
	}
	if _, _, err := DecodeCentroids(b[:len(b)-4]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: %v, want ErrCorrupt", err)
	}
	if _, _, err := DecodeCentroids(EncodeCentroids(3, nil)); err != nil {
		t.Fatalf("no centroids: %v", err)
	}
}
