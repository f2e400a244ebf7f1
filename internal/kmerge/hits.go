package kmerge

import "cmp"

// Hits is a run of search hits as Milvus's reduce orders them: by score,
// then by primary key. A run keys its hits by IntPKs (an Int64 primary
// key) or StrPKs (a VarChar one).
type Hits struct {
	Scores []float32
	IntPKs []int64
	StrPKs []string
}

// CompareHits compares hit i of a with hit j of b in the order of
// Milvus's search reduce: the better score first (the higher one when
// higherIsBetter, as for IP and COSINE), then the smaller primary key.
// Two runs of one collection share a key type; a run with no keys
// compares as the zero key.
func CompareHits(a *Hits, i int, b *Hits, j int, higherIsBetter bool) int {
	c := cmp.Compare(a.Scores[i], b.Scores[j])
	if higherIsBetter {
		c = -c
	}
	if c != 0 {
		return c
	}
	var sa, sb string
	var ia, ib int64
	if a.StrPKs != nil {
		sa = a.StrPKs[i]
	} else if a.IntPKs != nil {
		ia = a.IntPKs[i]
	}
	if b.StrPKs != nil {
		sb = b.StrPKs[j]
	} else if b.IntPKs != nil {
		ib = b.IntPKs[j]
	}
	if c := cmp.Compare(sa, sb); c != 0 {
		return c
	}
	return cmp.Compare(ia, ib)
}
