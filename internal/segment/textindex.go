package segment

import (
	"sync"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/analyzer"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
)

// textIndexes are the inverted indexes of a segment's enable_match VarChar
// fields, for TEXT_MATCH and PHRASE_MATCH: per term, the rows holding it
// and its token positions in each. An index is built on the first filter
// that needs it and extended as a growing segment grows.
type textIndexes struct {
	mu     sync.Mutex
	fields map[int64]*textIndex
}

type textIndex struct {
	n    int
	an   *analyzer.Analyzer
	post map[string]*textPosting
}

type textPosting struct {
	rows []int32
	pos  [][]int32
}

// TextPostings implements expr.TextIndex over the snapshot's rows.
func (s *snapshot) TextPostings(fieldID int64, term string) (expr.TextPostings, bool) {
	c := s.c
	fi, err := c.field(fieldID)
	if err != nil || fi.typ != schemapb.DataType_VarChar || !analyzer.EnableMatch(fi.schema) {
		return expr.TextPostings{}, false
	}
	col, err := s.Column(fieldID)
	if err != nil {
		return expr.TextPostings{}, false
	}
	strs, ok := col.(*column.Scalar[string])
	if !ok {
		return expr.TextPostings{}, false
	}
	c.text.mu.Lock()
	defer c.text.mu.Unlock()
	if c.text.fields == nil {
		c.text.fields = map[int64]*textIndex{}
	}
	ti := c.text.fields[fieldID]
	if ti == nil {
		an, err := analyzer.ForField(fi.schema)
		if err != nil {
			return expr.TextPostings{}, false
		}
		ti = &textIndex{an: an, post: map[string]*textPosting{}}
		c.text.fields[fieldID] = ti
	}
	for i := ti.n; i < s.n; i++ {
		if strs.IsNull(i) {
			continue
		}
		for _, tok := range ti.an.Analyze(strs.Data[i]) {
			p := ti.post[tok.Text]
			if p == nil {
				p = &textPosting{}
				ti.post[tok.Text] = p
			}
			if k := len(p.rows) - 1; k >= 0 && p.rows[k] == int32(i) {
				p.pos[k] = append(p.pos[k], int32(tok.Position))
				continue
			}
			p.rows = append(p.rows, int32(i))
			p.pos = append(p.pos, []int32{int32(tok.Position)})
		}
	}
	ti.n = max(ti.n, s.n)
	p := ti.post[term]
	if p == nil {
		return expr.TextPostings{}, true
	}
	// Capped: later rows appended by a growing segment never alter them.
	return expr.TextPostings{Rows: p.rows[:len(p.rows):len(p.rows)], Positions: p.pos[:len(p.pos):len(p.pos)]}, true
}
