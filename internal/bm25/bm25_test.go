package bm25

import (
	"hash/crc32"
	"math"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/analyzer"
)

func TestHashAndTF(t *testing.T) {
	if Hash("fox") != crc32.ChecksumIEEE([]byte("fox")) {
		t.Fatal("hash is not CRC-32 IEEE")
	}
	long := strings.Repeat("a", 150)
	if Hash(long) != Hash(long[:100]) || Hash(long) == Hash(long[:99]) {
		t.Fatal("only the first 100 bytes are hashed")
	}
	row := TF(analyzer.Standard(), "The fox and THE dog")
	got := map[uint32]float32{}
	var last uint32
	Each(row, func(idx uint32, v float32) {
		if len(got) > 0 && idx <= last {
			t.Fatal("indices do not ascend")
		}
		last = idx
		got[idx] = v
	})
	if len(got) != 4 || got[Hash("the")] != 2 || got[Hash("fox")] != 1 {
		t.Fatalf("term frequencies %v", got)
	}
}

func TestWeights(t *testing.T) {
	var st Stats
	st.Add(Stats{Rows: 3, Tokens: 12, DF: map[uint32]int64{1: 1, 2: 3}})
	st.Add(Stats{Rows: 1, Tokens: 4, DF: map[uint32]int64{1: 1}})
	if st.Avgdl() != 4 {
		t.Fatalf("avgdl %g", st.Avgdl())
	}
	w := map[uint32]float32{}
	Each(st.Weights(Row(map[uint32]float32{1: 2, 2: 1, 9: 1})), func(idx uint32, v float32) { w[idx] = v })
	idf := func(df float64) float32 { return float32(math.Log(1 + (4-df+0.5)/(df+0.5))) }
	if math.Abs(float64(w[1]-2*idf(2))) > 1e-6 || math.Abs(float64(w[2]-idf(3))) > 1e-6 || math.Abs(float64(w[9]-idf(0))) > 1e-6 {
		t.Fatalf("weights %v", w)
	}
	if (Stats{}).Avgdl() != 0 {
		t.Fatal("empty stats have an average length")
	}
}
