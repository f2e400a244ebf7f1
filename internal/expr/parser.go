package expr

import (
	"fmt"
	"strings"
)

// MaxTextLength is the longest filter text Parse accepts, in bytes. Long
// `pk in [...]` lists are the usual reason for big filters.
const MaxTextLength = 4 << 20

// MaxDepth is the deepest nesting Parse accepts (parentheses, operators,
// arrays). Flat chains of `and`/`or` do not count against it.
const MaxDepth = 256

// Binding powers, lowest first, following the alternative order of Milvus's
// Plan.g4 (an ANTLR left-recursive rule: earlier alternatives bind tighter).
const (
	bpNone = iota
	bpOr
	bpAnd
	bpBitOr
	bpBitXor
	bpBitAnd
	bpEquality
	bpRelational
	bpIn
	bpShift
	bpAddSub
	bpMulDivMod
	bpUnary
	bpPow
	bpLike
)

func infixBP(k tokKind) int {
	switch k {
	case tOr:
		return bpOr
	case tAnd:
		return bpAnd
	case tBitOr:
		return bpBitOr
	case tBitXor:
		return bpBitXor
	case tBitAnd:
		return bpBitAnd
	case tEQ, tNE:
		return bpEquality
	case tLT, tLE, tGT, tGE:
		return bpRelational
	case tIn:
		return bpIn
	case tShl, tShr:
		return bpShift
	case tAdd, tSub:
		return bpAddSub
	case tMul, tDiv, tMod:
		return bpMulDivMod
	case tPow:
		return bpPow
	case tLike:
		return bpLike
	}
	return bpNone
}

type parser struct {
	text  string
	toks  []token
	i     int
	depth int // current recursion depth
}

// parseText lexes and parses text into an untyped syntax tree.
func parseText(text string) (*ast, error) {
	if len(text) > MaxTextLength {
		return nil, &syntaxError{0, fmt.Sprintf("expression is %d bytes long, longer than the limit of %d", len(text), MaxTextLength)}
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{text: text, toks: toks}
	n, err := p.expr(bpNone)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) unexpected(t token) error {
	return &syntaxError{t.pos, "unexpected " + t.describe()}
}

func (p *parser) expect(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, &syntaxError{t.pos, fmt.Sprintf("expected %s, found %s", tokNames[k], t.describe())}
	}
	return t, nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return &syntaxError{pos, fmt.Sprintf("expression nested deeper than %d levels", MaxDepth)}
	}
	return nil
}

func (p *parser) mk(kind astKind, pos int, kids ...*ast) (*ast, error) {
	n := &ast{kind: kind, pos: pos, kids: kids}
	for _, k := range kids {
		n.depth = max(n.depth, k.depth)
	}
	n.depth++
	if n.depth > MaxDepth {
		return nil, &syntaxError{pos, fmt.Sprintf("expression nested deeper than %d levels", MaxDepth)}
	}
	n.end = p.prevEnd()
	return n, nil
}

// prevEnd is the byte offset just past the last consumed token.
func (p *parser) prevEnd() int {
	if p.i == 0 {
		return 0
	}
	t := p.toks[p.i-1]
	// Tokens do not record their length; the next token's start (or the end of
	// text) bounds it, minus trailing spaces.
	end := len(p.text)
	if p.i < len(p.toks) {
		end = p.toks[p.i].pos
	}
	return max(t.pos, len(strings.TrimRight(p.text[:end], " \t\n\r\f\v")))
}

// expr parses an expression whose operators bind tighter than minBP.
func (p *parser) expr(minBP int) (*ast, error) {
	if err := p.enter(p.peek().pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.prefix()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		k := t.kind
		notIn := false
		if k == tNot && p.toks[p.i+1].kind == tIn {
			k, notIn = tIn, true
		}
		if k == tIs {
			if bpLike <= minBP {
				return left, nil
			}
			if left, err = p.isNull(left); err != nil {
				return nil, err
			}
			continue
		}
		bp := infixBP(k)
		if bp == bpNone || bp <= minBP {
			return left, nil
		}
		p.next()
		if notIn {
			p.next()
		}
		switch k {
		case tLike:
			s := p.next()
			if s.kind != tString && s.kind != tTemplate {
				return nil, &syntaxError{s.pos, "mismatched input " + s.describe() + " expecting StringLiteral"}
			}
			n, err := p.mk(aLike, left.pos, left)
			if err != nil {
				return nil, err
			}
			// A {template} pattern (Milvus 2.6) is filled in by the checker;
			// b marks it, text is then the template's name.
			n.text, n.b = s.text, s.kind == tTemplate
			left = n
			continue
		case tAnd, tOr:
			right, err := p.expr(bp)
			if err != nil {
				return nil, err
			}
			if left.kind == aLogic && left.op == k {
				left.kids = append(left.kids, right)
				left.depth = max(left.depth, right.depth+1)
				left.end = p.prevEnd()
				continue
			}
			n, err := p.mk(aLogic, left.pos, left, right)
			if err != nil {
				return nil, err
			}
			n.op = k
			left = n
			continue
		}
		right, err := p.expr(bp)
		if err != nil {
			return nil, err
		}
		// Chained comparison: `1 < a <= 5` or `5 > a >= 1`.
		if bp == bpRelational && left.kind == aBinary && infixBP(left.op) == bpRelational && left.kind != aParen {
			lo, hi := left.op == tLT || left.op == tLE, k == tLT || k == tLE
			if lo != hi {
				return nil, &syntaxError{t.pos, "a chained range needs two comparisons in the same direction, like 1 < a <= 5"}
			}
			n, err := p.mk(aRange, left.pos, left.kids[0], left.kids[1], right)
			if err != nil {
				return nil, err
			}
			n.op, n.op2 = left.op, k
			left = n
			continue
		}
		kind := aBinary
		if k == tIn {
			kind = aIn
		}
		n, err := p.mk(kind, left.pos, left, right)
		if err != nil {
			return nil, err
		}
		n.op, n.neg = k, notIn
		left = n
	}
}

// isNull parses the `is [not] null` suffix after left.
// Milvus's lexer knows the suffix as one token, spelled exactly 'is null',
// 'IS NULL', 'is not null' or 'IS NOT NULL'.
func (p *parser) isNull(left *ast) (*ast, error) {
	is := p.next()
	neg := false
	if p.peek().kind == tNot {
		p.next()
		neg = true
	}
	null, err := p.expect(tNull)
	if err != nil {
		return nil, err
	}
	switch p.text[is.pos : null.pos+len(null.text)] {
	case "is null", "IS NULL", "is not null", "IS NOT NULL":
	default:
		return nil, &syntaxError{is.pos, fmt.Sprintf("invalid null check %q: write 'is null', 'IS NULL', 'is not null' or 'IS NOT NULL'", p.text[is.pos:null.pos+len(null.text)])}
	}
	if left.kind != aIdent {
		return nil, &syntaxError{left.pos, "is null can only follow a field name"}
	}
	n, err := p.mk(aIsNull, left.pos, left)
	if err != nil {
		return nil, err
	}
	n.neg = neg
	return n, nil
}

// prefix parses a primary expression or a prefix operator application.
func (p *parser) prefix() (*ast, error) {
	t := p.next()
	switch t.kind {
	case tInt:
		return p.leaf(aInt, t)
	case tFloat:
		return p.leaf(aFloat, t)
	case tString:
		return p.leaf(aString, t)
	case tTrue, tFalse:
		n, err := p.leaf(aBool, t)
		if n != nil {
			n.b = t.kind == tTrue
		}
		return n, err
	case tTemplate:
		return p.leaf(aTemplate, t)
	case tStructSub:
		return p.leaf(aStructSub, t)
	case tLParen:
		inner, err := p.expr(bpNone)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return p.mk(aParen, t.pos, inner)
	case tLBracket:
		var kids []*ast
		for p.peek().kind != tRBracket {
			e, err := p.expr(bpNone)
			if err != nil {
				return nil, err
			}
			kids = append(kids, e)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		if _, err := p.expect(tRBracket); err != nil {
			return nil, err
		}
		return p.mk(aArray, t.pos, kids...)
	case tAdd, tSub, tNot, tBitNot:
		operand, err := p.expr(bpUnary)
		if err != nil {
			return nil, err
		}
		n, err := p.mk(aUnary, t.pos, operand)
		if n != nil {
			n.op = t.kind
		}
		return n, err
	case tExists:
		operand, err := p.expr(bpLike - 1)
		if err != nil {
			return nil, err
		}
		return p.mk(aExists, t.pos, operand)
	case tIdent:
		if p.peek().kind == tLParen {
			return p.call(t)
		}
		// Milvus's keywords ISO and INTERVAL (either all lower or all upper
		// case) before a string literal: ts > ISO '2025-01-01T00:00:00Z',
		// ts + INTERVAL 'P1D' < ISO '...'.
		if k := timeLiteral(t.text); k != 0 && p.peek().kind == tString {
			s := p.next()
			n, err := p.leaf(k, t)
			if n != nil {
				n.text = s.text
			}
			return n, err
		}
		n, err := p.leaf(aIdent, t)
		if err != nil {
			return nil, err
		}
		for p.peek().kind == tLBracket {
			lb := p.next()
			k := p.next()
			switch k.kind {
			case tString:
				if k.text == "" {
					return nil, &syntaxError{k.pos, "invalid identifier: empty JSON key"}
				}
				n.kids = append(n.kids, &ast{kind: aString, pos: k.pos, text: k.text})
			case tInt:
				n.kids = append(n.kids, &ast{kind: aInt, pos: k.pos, text: k.text})
			case tIdent:
				if len(n.kids) > 0 {
					return nil, &syntaxError{k.pos, fmt.Sprintf("json key must be enclosed in double quotes or single quotes, found %s", k.describe())}
				}
				// StructFieldIdentifier: struct[sub]; the checker refuses it
				// unless the name is a struct array field.
				n.kids = append(n.kids, &ast{kind: aIdent, pos: k.pos, text: k.text})
			default:
				return nil, &syntaxError{k.pos, fmt.Sprintf("json key must be enclosed in double quotes or single quotes, found %s", k.describe())}
			}
			if _, err := p.expect(tRBracket); err != nil {
				return nil, err
			}
			_ = lb
		}
		n.end = p.prevEnd()
		return n, nil
	}
	return nil, p.unexpected(t)
}

// timeLiteral is the node kind of a time keyword, or 0.
func timeLiteral(word string) astKind {
	switch word {
	case "iso", "ISO":
		return aISO
	case "interval", "INTERVAL":
		return aInterval
	}
	return 0
}

func (p *parser) leaf(kind astKind, t token) (*ast, error) {
	return &ast{kind: kind, pos: t.pos, text: t.text, depth: 1, end: p.prevEnd()}, nil
}

// call parses name(args...).
func (p *parser) call(name token) (*ast, error) {
	p.next() // (
	var args []*ast
	for p.peek().kind != tRParen {
		if t := p.peek(); t.kind == tIdent && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tAssign {
			// name=value (text_match's minimum_should_match)
			p.next()
			p.next()
			v, err := p.expr(bpNone)
			if err != nil {
				return nil, err
			}
			n, err := p.mk(aNamedArg, t.pos, v)
			if err != nil {
				return nil, err
			}
			n.text = strings.ToLower(t.text)
			args = append(args, n)
			if p.peek().kind != tComma {
				break
			}
			p.next()
			continue
		}
		e, err := p.expr(bpNone)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	n, err := p.mk(aCall, name.pos, args...)
	if err != nil {
		return nil, err
	}
	n.text = strings.ToLower(name.text)
	return n, nil
}
