// Package bm25 is Milvus's BM25 function: a VarChar field's text, run
// through the field's analyzer, becomes a sparse vector of term
// frequencies keyed by a 32-bit hash of each term (the function's output
// field), and a query's term frequencies become BM25 weights from corpus
// statistics (rows, tokens, rows per term) the way Milvus 2.6's query
// node does (storage.BM25Stats.BuildIDF):
//
//	weight(t) = tf_query(t) * ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
//	score(q, d) = sum_t weight(t) * tf(d,t)*(k1+1) / (tf(d,t) + k1*(1 - b + b*|d|/avgdl))
//
// with avgdl = tokens / N, which the search passes as bm25_avgdl.
package bm25

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"

	"github.com/milvago/milvago/internal/analyzer"
)

// Hash is Milvus's term hash (typeutil.HashString2LessUint32): the IEEE
// CRC-32 of the term's first 100 bytes, below MaxUint32.
func Hash(term string) uint32 {
	if len(term) > 100 {
		term = term[:100]
	}
	return crc32.ChecksumIEEE([]byte(term)) % math.MaxUint32
}

// TF returns the term-frequency sparse row of text (Milvus's sparse row
// format: (uint32 index, float32 value) pairs, indices ascending).
func TF(a *analyzer.Analyzer, text string) []byte {
	counts := map[uint32]float32{}
	for _, t := range a.Analyze(text) {
		counts[Hash(t.Text)]++
	}
	return Row(counts)
}

// Row encodes a map of index -> value as a sparse row.
func Row(m map[uint32]float32) []byte {
	keys := make([]uint32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	row := make([]byte, 8*len(keys))
	for i, k := range keys {
		binary.LittleEndian.PutUint32(row[8*i:], k)
		binary.LittleEndian.PutUint32(row[8*i+4:], math.Float32bits(m[k]))
	}
	return row
}

// Each calls fn for every (index, value) pair of a sparse row.
func Each(row []byte, fn func(idx uint32, v float32)) {
	for j := 0; j+8 <= len(row); j += 8 {
		fn(binary.LittleEndian.Uint32(row[j:]), math.Float32frombits(binary.LittleEndian.Uint32(row[j+4:])))
	}
}

// Stats are corpus statistics: rows, their total tokens (the sum of their
// term frequencies) and, for the terms asked about, how many rows hold
// each.
type Stats struct {
	Rows   int64
	Tokens float64
	DF     map[uint32]int64
}

// Add adds o into s.
func (s *Stats) Add(o Stats) {
	s.Rows += o.Rows
	s.Tokens += o.Tokens
	if s.DF == nil {
		s.DF = map[uint32]int64{}
	}
	for k, v := range o.DF {
		s.DF[k] += v
	}
}

// Avgdl is the average row length, 0 without rows or tokens (Milvus then
// returns no hits).
func (s Stats) Avgdl() float64 {
	if s.Rows == 0 || s.Tokens == 0 {
		return 0
	}
	return s.Tokens / float64(s.Rows)
}

// IDF is ln(1 + (N - df + 0.5) / (df + 0.5)).
func (s Stats) IDF(term uint32) float64 {
	df := float64(s.DF[term])
	return math.Log(1 + (float64(s.Rows)-df+0.5)/(df+0.5))
}

// Weights turns a query's term-frequency row into BM25 query weights
// (term frequency times IDF), as BuildIDF does.
func (s Stats) Weights(tf []byte) []byte {
	out := make([]byte, len(tf))
	i := 0
	Each(tf, func(idx uint32, v float32) {
		binary.LittleEndian.PutUint32(out[i:], idx)
		binary.LittleEndian.PutUint32(out[i+4:], math.Float32bits(v*float32(s.IDF(idx))))
		i += 8
	})
	return out
}

// Terms lists the indices of sparse rows, without duplicates.
func Terms(rows [][]byte) []uint32 {
	var out []uint32
	for _, r := range rows {
		Each(r, func(idx uint32, _ float32) { out = append(out, idx) })
	}
	slices.Sort(out)
	return slices.Compact(out)
}
