package proxy

import (
	"maps"
	"testing"
)

// The cache answers what parsing answers, hands each caller its own map,
// and does not keep errors.
func TestFlattenSearchParamsCached(t *testing.T) {
	for _, s := range []string{`{"ef": 64}`, `{"nprobe":16,"radius":0.5,"level":"2","x":{"a":[1]}}`, ``, ` `, `{}`} {
		want, err := parseSearchParams(s)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			got, err := flattenSearchParams(s)
			if err != nil || !maps.Equal(got, want) {
				t.Fatalf("%q: %v, %v; want %v", s, got, err, want)
			}
			got["mutated"] = "1" // a caller's own copy
		}
	}
	if got, _ := flattenSearchParams(`{"nprobe":16,"radius":0.5,"level":"2","x":{"a":[1]}}`); got["level"] != "2" || got["x"] != `{"a":[1]}` || got["radius"] != "0.5" {
		t.Fatalf("flattened %v", got)
	}
	for range 2 {
		if _, err := flattenSearchParams(`{"ef": 64} x`); err == nil {
			t.Fatal("trailing data accepted")
		}
	}
	// Past its size the cache starts again; answers stay right.
	for i := range searchParamsCacheSize + 10 {
		s := `{"ef": ` + string(rune('0'+i%10)) + `, "k": "` + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + `"}`
		got, err := flattenSearchParams(s)
		if err != nil || got["ef"] != string(rune('0'+i%10)) {
			t.Fatalf("%q: %v %v", s, got, err)
		}
	}
	searchParamsCache.RLock()
	n := len(searchParamsCache.m)
	searchParamsCache.RUnlock()
	if n > searchParamsCacheSize {
		t.Fatalf("cache holds %d entries", n)
	}
}

func BenchmarkFlattenSearchParams(b *testing.B) {
	const s = `{"ef":64}`
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseSearchParams(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := flattenSearchParams(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
