package expr

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/analyzer"
	"github.com/milvago/milvago/internal/column"
)

const fDoc = 200

func textSchema() *schemapb.CollectionSchema {
	s := testSchema()
	s.Fields = append(s.Fields, &schemapb.FieldSchema{FieldID: fDoc, Name: "doc", DataType: schemapb.DataType_VarChar,
		TypeParams: []*commonpb.KeyValuePair{{Key: "enable_match", Value: "true"}, {Key: "enable_analyzer", Value: "true"},
			{Key: "analyzer_params", Value: `{"type":"english"}`}}})
	return s
}

var textDocs = []string{
	"The quick brown fox jumps over the lazy dog", // 0
	"A quick fox",                                   // 1
	"brown dogs and lazy foxes sleep",               // 2
	"nothing here",                                  // 3
	"the fox is quick and the dog is brown",         // 4
	"quick quick brown brown fox fox jumping jumps", // 5
}

// indexBatch adds a TextIndex over memBatch's doc column.
type indexBatch struct {
	*memBatch
	post map[string]TextPostings
}

func (b *indexBatch) TextPostings(fieldID int64, term string) (TextPostings, bool) {
	return b.post[term], fieldID == fDoc
}

func textBatches(t *testing.T) []column.Batch {
	col := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: textDocs}
	mb := &memBatch{n: len(textDocs), cols: map[int64]column.Column{fDoc: col}}
	a, err := analyzer.New(`{"type":"english"}`)
	if err != nil {
		t.Fatal(err)
	}
	post := map[string]TextPostings{}
	for r, d := range textDocs {
		seen := map[string]int{}
		for _, tok := range a.Analyze(d) {
			p := post[tok.Text]
			k, ok := seen[tok.Text]
			if !ok {
				k = len(p.Rows)
				seen[tok.Text] = k
				p.Rows = append(p.Rows, int32(r))
				p.Positions = append(p.Positions, nil)
			}
			p.Positions[k] = append(p.Positions[k], int32(tok.Position))
			post[tok.Text] = p
		}
	}
	return []column.Batch{mb, &indexBatch{mb, post}}
}

func TestTextAndPhraseMatch(t *testing.T) {
	schema := textSchema()
	cases := map[string][]int{
		`text_match(doc, 'fox')`:                                     {0, 1, 2, 4, 5},
		`TEXT_MATCH(doc, 'cat dog')`:                                 {0, 2, 4},
		`text_match(doc, 'quick brown dog', minimum_should_match=3)`: {0, 4},
		`text_match(doc, 'quick brown dog', MINIMUM_SHOULD_MATCH=2)`: {0, 2, 4, 5},
		`text_match(doc, 'the')`:                                     {},
		`phrase_match(doc, 'quick brown fox')`:                       {0},
		`phrase_match(doc, 'quick fox', 1)`:                          {0, 1},
		`phrase_match(doc, 'brown fox', 0)`:                          {0, 5},
		`phrase_match(doc, 'fox quick')`:                             {},
		`phrase_match(doc, 'fox jumps', 2)`:                          {0, 5},
		`phrase_match(doc, 'lazy')`:                                  {0, 2},
		`not text_match(doc, 'fox') and id >= 0`:                     {3},
	}
	for text, want := range cases {
		e, err := Parse(schema, text, nil)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		again, err := Parse(schema, e.String(), nil)
		if err != nil || again.String() != e.String() {
			t.Fatalf("%s: round trip %q: %v", text, e.String(), err)
		}
		for bi, b := range textBatches(t) {
			mb := b
			if strings.Contains(text, "id >=") {
				cols := map[int64]column.Column{fDoc: &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: textDocs},
					fID: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{0, 1, 2, 3, 4, 5}}}
				mb = &memBatch{n: len(textDocs), cols: cols}
			}
			set, err := e.Eval(context.Background(), mb)
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			got := []int{}
			set.ForEach(func(i int) { got = append(got, i) })
			if !slices.Equal(got, want) {
				t.Errorf("%s (batch %d) = %v, want %v", text, bi, got, want)
			}
		}
	}
}

func TestTextMatchErrors(t *testing.T) {
	schema := textSchema()
	for text, msg := range map[string]string{
		`text_match(s, 'a')`:                              `field "s" does not enable match`,
		`text_match(i64, 'a')`:                            "text match operation on non-string is unsupported",
		`phrase_match(i64, 'a')`:                          "phrase match operation on non-string is unsupported",
		`text_match(doc, 'a', minimum_should_match=0)`:    "minimum_should_match should be >= 1, got 0",
		`text_match(doc, 'a', minimum_should_match=1001)`: "minimum_should_match should be <= 1000, got 1001",
		`phrase_match(doc, 'a', -1)`:                      `"slop" should not be a negative interger. "slop" passed: -1`,
		`phrase_match(doc, 'a', 1.5)`:                     `"slop" should be a const integer expression with "uint32" value`,
		`i64 = 3`:                                         "unexpected '=', did you mean '=='?",
	} {
		_, err := Parse(schema, text, nil)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", text, err, msg)
		}
	}
}
