package analyzer

import (
	"strings"
	"testing"
)

var benchText = strings.Repeat("The quick brown foxes jumped over the lazy dogs, running far away. ", 20)

const benchChinese = "我来到北京清华大学，信息检索是从大规模非结构化数据中找出满足用户需求的信息的过程。"

func benchAnalyzer(b *testing.B, params, text string) {
	a, err := New(params)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		a.Analyze(text)
	}
}

func BenchmarkStandard(b *testing.B) { benchAnalyzer(b, ``, benchText) }
func BenchmarkEnglish(b *testing.B)  { benchAnalyzer(b, `{"type":"english"}`, benchText) }
func BenchmarkChinese(b *testing.B)  { benchAnalyzer(b, `{"type":"chinese"}`, benchChinese) }
