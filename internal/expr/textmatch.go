package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/analyzer"
	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// TEXT_MATCH(field, 'words' [, minimum_should_match=N]) keeps the rows of
// an enable_match VarChar field holding at least N (default 1) of the
// query's tokens (the field's analyzer tokenizes both); PHRASE_MATCH(field,
// 'phrase' [, slop]) keeps the rows holding the tokens in order, each
// within slop positions of where the phrase puts it (tantivy's
// PhraseQuery, which Milvus uses). A segment answers from its inverted
// index (TextIndex); without one, rows are tokenized as they are scanned.

// TextPostings are the rows (ascending) holding a term and, per row, the
// term's token positions (ascending).
type TextPostings struct {
	Rows      []int32
	Positions [][]int32
}

// TextIndex is optionally implemented by the column.Batch a filter is
// evaluated on: the inverted index of an enable_match field. Rows may
// extend past the batch (a growing segment's later rows): they are ignored.
type TextIndex interface {
	TextPostings(fieldID int64, term string) (TextPostings, bool)
}

type matchTerm struct {
	text string
	pos  int
}

type textMatchNode struct {
	f      fieldRef
	query  string
	phrase bool
	min    int    // text_match: minimum_should_match
	slop   uint32 // phrase_match
	an     *analyzer.Analyzer
	terms  []matchTerm
}

// textMatchCall checks TEXT_MATCH and PHRASE_MATCH (Milvus's
// VisitTextMatch, VisitPhraseMatch).
func (c *checker) textMatchCall(a *ast) (operand, bool, error) {
	var phrase bool
	switch a.text {
	case "text_match":
	case "phrase_match":
		phrase = true
	default:
		return operand{}, false, nil
	}
	opName := map[bool]string{false: "text match", true: "phrase match"}[phrase]
	if len(a.kids) < 2 || len(a.kids) > 3 || a.kids[0].kind != aIdent || len(a.kids[0].kids) > 0 {
		return operand{}, true, errAt(a.pos, "%s takes a field name, a string and an optional option, got: %s", a.text, c.src(a))
	}
	f, err := c.resolve(a.kids[0])
	if err != nil {
		return operand{}, true, err
	}
	if len(f.Path) > 0 || (f.Type != schemapb.DataType_VarChar && f.Type != schemapb.DataType_String && f.Type != schemapb.DataType_Text) {
		return operand{}, true, errAt(a.pos, "%s operation on non-string is unsupported", opName)
	}
	if f.Type == schemapb.DataType_Text && !phrase {
		return operand{}, true, errAt(a.pos, "text match operation on text field is not supported yet")
	}
	var fs *schemapb.FieldSchema
	for _, s := range c.schema.GetFields() {
		if s.GetFieldID() == f.ID {
			fs = s
		}
	}
	if fs == nil || !analyzer.EnableMatch(fs) {
		return operand{}, true, errAt(a.pos, "field \"%s\" does not enable match", a.kids[0].text)
	}
	an, err := analyzer.ForField(fs)
	if err != nil {
		return operand{}, true, errAt(a.pos, "%v", err)
	}
	q, err := c.check(a.kids[1])
	if err != nil {
		return operand{}, true, err
	}
	if q.kind != oConst || q.v.kind != vString {
		return operand{}, true, errAt(a.kids[1].pos, "%s query must be a string literal or a template variable, got: %s",
			strings.ReplaceAll(opName, " ", "_"), c.src(a.kids[1]))
	}
	n := &textMatchNode{f: f, query: q.v.s, phrase: phrase, min: 1, an: an}
	if len(a.kids) == 3 {
		opt := a.kids[2]
		switch {
		case !phrase && opt.kind == aNamedArg && opt.text == "minimum_should_match":
			o, err := c.check(opt.kids[0])
			if err != nil {
				return operand{}, true, err
			}
			if o.kind != oConst || o.v.kind != vInt {
				return operand{}, true, errAt(opt.pos, "minimum_should_match should be a const integer expression")
			}
			if o.v.i < 1 {
				return operand{}, true, errAt(opt.pos, "minimum_should_match should be >= 1, got %d", o.v.i)
			}
			if o.v.i > 1000 {
				return operand{}, true, errAt(opt.pos, "minimum_should_match should be <= 1000, got %d", o.v.i)
			}
			n.min = int(o.v.i)
		case phrase && opt.kind != aNamedArg:
			o, err := c.check(opt)
			if err != nil {
				return operand{}, true, err
			}
			text := tokenText(c.src(opt))
			if o.kind != oConst || o.v.kind != vInt {
				return operand{}, true, errAt(opt.pos, "\"slop\" should be a const integer expression with \"uint32\" value. \"slop\" expression passed: %s", text)
			}
			if o.v.i < 0 {
				return operand{}, true, errAt(opt.pos, "\"slop\" should not be a negative interger. \"slop\" passed: %s", text)
			}
			if o.v.i > math.MaxUint32 {
				return operand{}, true, errAt(opt.pos, "\"slop\" exceeds the range of \"uint32\". \"slop\" expression passed: %s", text)
			}
			n.slop = uint32(o.v.i)
		default:
			return operand{}, true, errAt(opt.pos, "invalid option of %s: %s", a.text, c.src(opt))
		}
	}
	for _, t := range an.Analyze(n.query) {
		n.terms = append(n.terms, matchTerm{t.Text, t.Position})
	}
	return operand{kind: oBool, n: n, pos: a.pos}, true, nil
}

func (n *textMatchNode) fields(add func(int64)) { add(n.f.ID) }

func (n *textMatchNode) format(b *strings.Builder) {
	if n.phrase {
		fmt.Fprintf(b, "phrase_match(%s, %s, %d)", n.f, quote(n.query), n.slop)
		return
	}
	fmt.Fprintf(b, "text_match(%s, %s", n.f, quote(n.query))
	if n.min != 1 {
		b.WriteString(", minimum_should_match=" + strconv.Itoa(n.min))
	}
	b.WriteByte(')')
}

func (n *textMatchNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	if len(n.terms) == 0 {
		return finish(res, c, ec.n)
	}
	if idx, ok := ec.batch.(TextIndex); ok {
		if done, err := n.evalIndex(ec, idx, res); err != nil || done {
			if err != nil {
				return nil, nil, err
			}
			return finish(res, c, ec.n)
		}
	}
	s, ok := c.(*column.Scalar[string])
	if !ok {
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
	}
	err = ec.forEachCand(func(i int) {
		if s.IsNull(i) {
			return
		}
		if n.matchTokens(n.an.Analyze(s.Data[i])) {
			res.Set(i)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return finish(res, c, ec.n)
}

// evalIndex answers from the segment's inverted index; false: it has none.
func (n *textMatchNode) evalIndex(ec *evalCtx, idx TextIndex, res *bitset.Set) (bool, error) {
	lists := make([]TextPostings, len(n.terms))
	for i, t := range n.terms {
		p, ok := idx.TextPostings(n.f.ID, t.text)
		if !ok {
			return false, nil
		}
		lists[i] = p
	}
	if err := ec.ctx.Err(); err != nil {
		return true, err
	}
	if !n.phrase || len(n.terms) == 1 {
		// Milvus forwards a one-token phrase to a text match.
		min := n.min
		if n.phrase {
			min = 1
		}
		counts := make([]uint16, ec.n)
		for _, l := range lists {
			for _, r := range l.Rows {
				if int(r) < ec.n {
					counts[r]++
				}
			}
		}
		for i, c := range counts {
			if int(c) >= min {
				res.Set(i)
			}
		}
		return true, nil
	}
	// Phrase: rows holding every term, then positions.
	first := lists[0]
	for k, r := range first.Rows {
		if int(r) >= ec.n {
			break
		}
		pos := make([][]int32, len(lists))
		pos[0] = first.Positions[k]
		ok := true
		for j := 1; j < len(lists) && ok; j++ {
			l := lists[j]
			at, found := searchRow(l.Rows, r)
			if !found {
				ok = false
				break
			}
			pos[j] = l.Positions[at]
		}
		if ok && n.phraseAt(pos) {
			res.Set(int(r))
		}
	}
	return true, nil
}

func searchRow(rows []int32, r int32) (int, bool) {
	lo, hi := 0, len(rows)
	for lo < hi {
		m := (lo + hi) / 2
		if rows[m] < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(rows) && rows[lo] == r
}

// matchTokens decides a row from its tokens (the scan without an index).
func (n *textMatchNode) matchTokens(toks []analyzer.Token) bool {
	if !n.phrase || len(n.terms) == 1 {
		have := make(map[string]bool, len(toks))
		for _, t := range toks {
			have[t.Text] = true
		}
		min := n.min
		if n.phrase {
			min = 1
		}
		matched := 0
		for _, t := range n.terms {
			if have[t.text] {
				matched++
			}
		}
		return matched >= min
	}
	pos := make([][]int32, len(n.terms))
	for j, t := range n.terms {
		for _, tok := range toks {
			if tok.Text == t.text {
				pos[j] = append(pos[j], int32(tok.Position))
			}
		}
		if len(pos[j]) == 0 {
			return false
		}
	}
	return n.phraseAt(pos)
}

// phraseAt is tantivy's phrase match with slop over one document: pos[j]
// are term j's positions (ascending). Each term's positions are shifted
// by its offset in the query, then consecutive terms are intersected,
// keeping a right position when some left position lies in
// [right - slop, right].
func (n *textMatchNode) phraseAt(pos [][]int32) bool {
	off := func(j int) int64 { return int64(n.terms[j].pos - n.terms[0].pos) }
	cur := make([]int64, len(pos[0]))
	for i, p := range pos[0] {
		cur[i] = int64(p)
	}
	for j := 1; j < len(pos); j++ {
		right := make([]int64, len(pos[j]))
		for i, p := range pos[j] {
			right[i] = int64(p) - off(j)
		}
		var next []int64
		li, ri := 0, 0
		for li < len(cur) && ri < len(right) {
			l, r := cur[li], right[ri]
			rs := max(r-int64(n.slop), 0)
			switch {
			case l < rs:
				li++
			case l <= r:
				for li+1 < len(cur) && cur[li+1] <= r {
					li++
				}
				next = append(next, r)
				li++
				ri++
			default:
				ri++
			}
		}
		if len(next) == 0 {
			return false
		}
		cur = next
	}
	return true
}
