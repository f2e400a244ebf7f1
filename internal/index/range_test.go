package index

import (
	"errors"
	"testing"
)

func TestParseRangeSemantics(t *testing.T) {
	f := func(m Metric, params map[string]string, score float32, want bool) {
		t.Helper()
		w, err := ParseRange(m, params)
		if err != nil {
			t.Fatalf("%s %v: %v", m, params, err)
		}
		if got := w.KeepScore(m, score); got != want {
			t.Errorf("%s %v score %g: keep=%v, want %v", m, params, score, got, want)
		}
	}
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	// Distances: range_filter <= d < radius.
	f(L2, p("radius", "10"), 9.9, true)
	f(L2, p("radius", "10"), 10, false)
	f(L2, p("radius", "10", "range_filter", "2"), 2, true)
	f(L2, p("radius", "10", "range_filter", "2"), 1.9, false)
	f(Hamming, p("radius", "5"), 4, true)
	f(Jaccard, p("radius", "0.5", "range_filter", "0.1"), 0.5, false)
	// Similarities: radius < s <= range_filter.
	f(IP, p("radius", "0.5"), 0.5, false)
	f(IP, p("radius", "0.5"), 0.51, true)
	f(Cosine, p("radius", "0.5", "range_filter", "0.9"), 0.9, true)
	f(Cosine, p("radius", "0.5", "range_filter", "0.9"), 0.91, false)
	f(IP, p(), -1e9, true) // no radius: plain search keeps all

	bad := func(m Metric, params map[string]string) {
		t.Helper()
		if _, err := ParseRange(m, params); !errors.Is(err, ErrInvalidParam) {
			t.Errorf("%s %v: err=%v, want ErrInvalidParam", m, params, err)
		}
	}
	bad(L2, p("radius", "1", "range_filter", "1"))
	bad(L2, p("radius", "1", "range_filter", "2"))
	bad(IP, p("radius", "0.5", "range_filter", "0.4"))
	bad(IP, p("radius", "x"))
}

func TestFilterResult(t *testing.T) {
	w, _ := ParseRange(L2, map[string]string{"radius": "3", "range_filter": "1"})
	res := &Result{NQ: 1, K: 4, Labels: []int64{7, 8, 9, -1}, Distances: []float32{0.5, 1, 2.5, 0}}
	w.FilterResult(L2, res)
	want := []int64{8, 9, -1, -1}
	for i := range want {
		if res.Labels[i] != want[i] {
			t.Fatalf("labels %v, want %v", res.Labels, want)
		}
	}
}
