package kmerge

import "testing"

func TestCompareHits(t *testing.T) {
	ints := &Hits{Scores: []float32{0.5, 0.5, 0.9}, IntPKs: []int64{7, 3, 1}}
	strs := &Hits{Scores: []float32{0.5, 0.5}, StrPKs: []string{"b", "a"}}
	cases := []struct {
		name   string
		a      *Hits
		i      int
		b      *Hits
		j      int
		higher bool
		want   int
	}{
		{"lower distance first", ints, 0, ints, 2, false, -1},
		{"higher similarity first", ints, 0, ints, 2, true, 1},
		{"equal scores: smaller int key first", ints, 0, ints, 1, false, 1},
		{"equal scores, higher is better: still smaller key first", ints, 1, ints, 0, true, -1},
		{"equal scores: smaller string key first", strs, 1, strs, 0, false, -1},
		{"same hit", strs, 0, strs, 0, true, 0},
		{"no keys compare as the zero key", &Hits{Scores: []float32{1}}, 0, &Hits{Scores: []float32{1}}, 0, false, 0},
	}
	for _, c := range cases {
		if got := CompareHits(c.a, c.i, c.b, c.j, c.higher); sign(got) != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
