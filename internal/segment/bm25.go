package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// BM25 brute force over term-frequency sparse rows (what Milvus's
// full-text search stores), scored exactly as the sparse index scores
// them (knowhere's BM25 metric), so that growing and sealed segments rank
// alike:
//
//	score(q, d) = sum over terms t of w(q,t) * tf(d,t)*(k1+1) / (tf(d,t) + k1*(1-b+b*|d|/avgdl))
//
// The query weights w carry the IDF (the query node computes them over
// the whole shard, internal/bm25); avgdl is the search's bm25_avgdl, else
// the segment's own average; |d| is the sum of d's term frequencies.

type bm25Params struct {
	k1, b, avgdl float64
}

func parseBM25(params map[string]string) (k1, b, avgdl float64, err error) {
	defer func() {
		if err != nil && !errors.Is(err, errs.ErrParameterInvalid) {
			err = fmt.Errorf("%w: %w", err, errs.ErrParameterInvalid)
		}
	}()
	if k1, _, err = index.FloatParam(params, "bm25_k1", 1.2); err != nil {
		return 0, 0, 0, err
	}
	if k1 < 1.2 || k1 > 2.0 {
		return 0, 0, 0, errs.InvalidParameter("param 'bm25_k1' (%g) should be in range [1.2, 2.0]", k1)
	}
	if b, _, err = index.FloatParam(params, "bm25_b", 0.75); err != nil {
		return 0, 0, 0, err
	}
	if b < 0 || b > 1 {
		return 0, 0, 0, errs.InvalidParameter("param 'bm25_b' (%g) should be in range [0, 1]", b)
	}
	var given bool
	if avgdl, given, err = index.FloatParam(params, "bm25_avgdl", 0); err != nil {
		return 0, 0, 0, err
	}
	if given && !(avgdl > 0) {
		return 0, 0, 0, errs.InvalidParameter("param 'bm25_avgdl' (%g) should be > 0", avgdl)
	}
	return k1, b, avgdl, nil
}

// prepareBM25 reads the parameters and, unless given, computes the
// average document length over the snapshot's rows.
func prepareBM25(docLen []float32, params map[string]string) (*bm25Params, error) {
	k1, b, avgdl, err := parseBM25(params)
	if err != nil {
		return nil, err
	}
	if avgdl == 0 {
		var sum float64
		for _, l := range docLen {
			sum += float64(l)
		}
		avgdl = max(sum/float64(max(len(docLen), 1)), 1)
	}
	return &bm25Params{k1: k1, b: b, avgdl: avgdl}, nil
}

// score is the BM25 score of row (document length dl) for query q, and
// whether they share a term.
func (p *bm25Params) score(q []byte, row []byte, dl float32) (float32, bool) {
	var s float64
	shared := false
	norm := p.k1 * (1 - p.b + p.b*float64(dl)/p.avgdl)
	i, j := 0, 0
	for i+8 <= len(q) && j+8 <= len(row) {
		iq, ir := binary.LittleEndian.Uint32(q[i:]), binary.LittleEndian.Uint32(row[j:])
		switch {
		case iq < ir:
			i += 8
		case iq > ir:
			j += 8
		default:
			w := float64(math.Float32frombits(binary.LittleEndian.Uint32(q[i+4:])))
			tf := float64(math.Float32frombits(binary.LittleEndian.Uint32(row[j+4:])))
			s += w * tf * (p.k1 + 1) / (tf + norm)
			shared = true
			i += 8
			j += 8
		}
	}
	return float32(s), shared
}
