package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// likeKind is the shape of a like pattern; all but likeGeneral have a fast path.
type likeKind uint8

const (
	likeExact    likeKind = iota // no wildcard
	likePrefix                   // lit%
	likeSuffix                   // %lit
	likeContains                 // %lit%
	likeGeneral
)

// likeTok is one element of a compiled pattern.
type likeTok struct {
	any  bool   // %
	one  bool   // _
	text string // literal run
}

// matcher is a compiled like pattern: % matches any run of characters, _
// exactly one character, \% \_ \\ match themselves.
type matcher struct {
	kind likeKind
	lit  string
	toks []likeTok
}

func compileLike(pattern string) (*matcher, error) {
	var toks []likeTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, likeTok{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '\\':
			if i+1 >= len(pattern) {
				return nil, fmt.Errorf("invalid like pattern %s: trailing escape", quote(pattern))
			}
			i++
			lit.WriteByte(pattern[i])
		case '%':
			flush()
			if len(toks) == 0 || !toks[len(toks)-1].any {
				toks = append(toks, likeTok{any: true})
			}
		case '_':
			flush()
			toks = append(toks, likeTok{one: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	m := &matcher{kind: likeGeneral, toks: toks}
	isLit := func(t likeTok) bool { return !t.any && !t.one }
	switch {
	case len(toks) == 0:
		m.kind = likeExact
	case len(toks) == 1 && isLit(toks[0]):
		m.kind, m.lit = likeExact, toks[0].text
	case len(toks) == 1 && toks[0].any:
		m.kind = likePrefix // "%": any string
	case len(toks) == 2 && isLit(toks[0]) && toks[1].any:
		m.kind, m.lit = likePrefix, toks[0].text
	case len(toks) == 2 && toks[0].any && isLit(toks[1]):
		m.kind, m.lit = likeSuffix, toks[1].text
	case len(toks) == 3 && toks[0].any && isLit(toks[1]) && toks[2].any:
		m.kind, m.lit = likeContains, toks[1].text
	}
	return m, nil
}

func (m *matcher) match(s string) bool {
	switch m.kind {
	case likeExact:
		return s == m.lit
	case likePrefix:
		return strings.HasPrefix(s, m.lit)
	case likeSuffix:
		return strings.HasSuffix(s, m.lit)
	case likeContains:
		return strings.Contains(s, m.lit)
	}
	return matchToks(m.toks, s)
}

// matchToks is glob matching with single-star backtracking: O(len(s) *
// len(toks)) in the worst case, never exponential.
func matchToks(toks []likeTok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch {
			case t.any:
				starT, starS = ti, si
				ti++
				continue
			case t.one:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			default:
				if strings.HasPrefix(s[si:], t.text) {
					si += len(t.text)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		// Mismatch: let the last % absorb one more character.
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		ti, si = starT+1, starS
	}
}

func (n *likeNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	if res, valid, ok, err := n.evalIndexed(ec); ok || err != nil {
		return res, valid, err
	}
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	switch n.f.Type {
	case schemapb.DataType_JSON:
		return evalJSON(ec, c, n.f, func(r jsonVal) bool { return r.kind == jString && n.m.match(r.s) })
	case schemapb.DataType_Array:
		return evalArrayElem(ec, c, n.f, func(e elemVal) bool { return e.kind == vString && n.m.match(e.s) })
	}
	s, ok := c.(*column.Scalar[string])
	if !ok {
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
	}
	res := bitset.New(ec.n)
	w := res.Words()
	m := n.m
	switch m.kind {
	case likeExact:
		cmpOrdered(s.Data, opEQ, m.lit, w)
	case likePrefix:
		if m.lit == "" {
			res.SetAll()
			break
		}
		// The first byte rejects most rows without a memequal call.
		p, p0 := m.lit, m.lit[0]
		for i, x := range s.Data {
			if len(x) >= len(p) && x[0] == p0 && x[:len(p)] == p {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	case likeSuffix:
		for i, x := range s.Data {
			if strings.HasSuffix(x, m.lit) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	case likeContains:
		for i, x := range s.Data {
			if strings.Contains(x, m.lit) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	default:
		if err := ec.forEachCand(func(i int) {
			if m.match(s.Data[i]) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}); err != nil {
			return nil, nil, err
		}
	}
	return finish(res, c, ec.n)
}
