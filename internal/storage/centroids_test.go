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

func TestOffsetMappingFileRoundTrip(t *testing.T) {
	ids := []uint32{2, 0, NoCentroid, 1, 1}
	b := EncodeOffsetMapping(3, ids)
	k, got, err := DecodeOffsetMapping(b)
	if err != nil || k != 3 || !slices.Equal(got, ids) {
		t.Fatalf("decode: %d, %v, %v; want 3, %v", k, got, err, ids)
	}
	if p := OffsetMappingPath(42, 7); p != "analyze_stats/42/7/offset_mapping" {
		t.Fatalf("path %q", p)
	}
	for name, bad := range map[string][]byte{
		"flipped payload bit": func() []byte { c := slices.Clone(b); c[len(c)-1] ^= 1; return c }(),
		"flipped header bit":  func() []byte { c := slices.Clone(b); c[20] ^= 1; return c }(),
		"truncated":           b[:len(b)-4],
		"a centroids file":    EncodeCentroids(1, []float32{1, 2, 3, 4, 5}),
		"unknown centroid":    EncodeOffsetMapping(2, ids),
	} {
		if _, _, err := DecodeOffsetMapping(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if k, got, err := DecodeOffsetMapping(EncodeOffsetMapping(0, nil)); err != nil || k != 0 || len(got) != 0 {
		t.Fatalf("empty: %d %v %v", k, got, err)
	}
}
