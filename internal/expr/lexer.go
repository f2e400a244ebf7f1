package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tInt
	tFloat
	tString
	tTemplate // {name}
	tLParen
	tRParen
	tLBracket
	tRBracket
	tComma
	tEQ
	tNE
	tLT
	tLE
	tGT
	tGE
	tAdd
	tSub
	tMul
	tDiv
	tMod
	tPow
	tAnd // and, &&
	tOr  // or, ||
	tNot // not, !
	tIn
	tLike
	tIs
	tNull
	tExists
	tTrue
	tFalse
	tBitAnd
	tBitOr
	tBitXor
	tBitNot
	tShl
	tShr
	tAssign    // '=', only in text_match's minimum_should_match=N and MATCH_*'s threshold=N
	tStructSub // $[name]: a struct sub-field inside element_filter / MATCH_*
)

var tokNames = map[tokKind]string{
	tEOF: "end of expression", tLParen: "'('", tRParen: "')'", tLBracket: "'['", tRBracket: "']'",
	tComma: "','", tEQ: "'=='", tNE: "'!='", tLT: "'<'", tLE: "'<='", tGT: "'>'", tGE: "'>='",
	tAdd: "'+'", tSub: "'-'", tMul: "'*'", tDiv: "'/'", tMod: "'%'", tPow: "'**'",
	tBitAnd: "'&'", tBitOr: "'|'", tBitXor: "'^'", tBitNot: "'~'", tShl: "'<<'", tShr: "'>>'", tAssign: "'='",
	tNull: "null", tIn: "in", tIs: "is",
}

// keywords are Milvus 2.6's (Plan.g4): each is spelled all in lower case
// or all in upper case ('and' | 'AND'); the booleans also capitalised
// ('true' | 'True' | 'TRUE'). Any other spelling is an identifier.
var keywords = map[string]tokKind{
	"and": tAnd, "or": tOr, "not": tNot, "in": tIn, "like": tLike, "is": tIs,
	"null": tNull, "exists": tExists, "true": tTrue, "false": tFalse,
}

// keyword looks word up without allocating.
func keyword(word string) (tokKind, bool) {
	if len(word) < 2 || len(word) > 6 {
		return 0, false
	}
	var buf [6]byte
	lower, upper := true, true
	for i := 0; i < len(word); i++ {
		c := word[i]
		switch {
		case c >= 'A' && c <= 'Z':
			lower = false
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z':
			upper = false
		}
		buf[i] = c
	}
	k, ok := keywords[string(buf[:len(word)])]
	if !ok {
		return 0, false
	}
	if lower || upper {
		return k, true
	}
	// True, False: capital first letter, the rest lower case.
	if (k == tTrue || k == tFalse) && word[0] >= 'A' && word[0] <= 'Z' && word[1:] == string(buf[1:len(word)]) {
		return k, true
	}
	return 0, false
}

// token is one lexical token; pos is its byte offset in the text.
type token struct {
	kind tokKind
	pos  int
	text string // source text (identifiers, numbers); decoded value for strings; name for templates
}

func (t token) describe() string {
	switch t.kind {
	case tIdent:
		return fmt.Sprintf("identifier %q", t.text)
	case tInt, tFloat:
		return fmt.Sprintf("number %s", t.text)
	case tString:
		return fmt.Sprintf("string %q", t.text)
	case tTemplate:
		return fmt.Sprintf("placeholder {%s}", t.text)
	case tStructSub:
		return fmt.Sprintf("$[%s]", t.text)
	}
	if n, ok := tokNames[t.kind]; ok {
		return n
	}
	return fmt.Sprintf("%q", strings.ToLower(t.text))
}

// syntaxError is a lexing or parsing error at a byte offset.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// lex splits text into tokens. It stops at the first error.
func lex(text string) ([]token, error) {
	toks := make([]token, 0, len(text)/4+2)
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		start := i
		c := text[i]
		two := ""
		if i+1 < len(text) {
			two = text[i : i+2]
		}
		switch {
		case two == "==":
			toks, i = append(toks, token{kind: tEQ, pos: start}), i+2
		case two == "!=":
			toks, i = append(toks, token{kind: tNE, pos: start}), i+2
		case two == "<=":
			toks, i = append(toks, token{kind: tLE, pos: start}), i+2
		case two == ">=":
			toks, i = append(toks, token{kind: tGE, pos: start}), i+2
		case two == "<<":
			toks, i = append(toks, token{kind: tShl, pos: start}), i+2
		case two == ">>":
			toks, i = append(toks, token{kind: tShr, pos: start}), i+2
		case two == "&&":
			toks, i = append(toks, token{kind: tAnd, pos: start, text: "&&"}), i+2
		case two == "||":
			toks, i = append(toks, token{kind: tOr, pos: start, text: "||"}), i+2
		case two == "**":
			toks, i = append(toks, token{kind: tPow, pos: start}), i+2
		case c == '<':
			toks, i = append(toks, token{kind: tLT, pos: start}), i+1
		case c == '>':
			toks, i = append(toks, token{kind: tGT, pos: start}), i+1
		case c == '!':
			toks, i = append(toks, token{kind: tNot, pos: start, text: "!"}), i+1
		case c == '(':
			toks, i = append(toks, token{kind: tLParen, pos: start}), i+1
		case c == ')':
			toks, i = append(toks, token{kind: tRParen, pos: start}), i+1
		case c == '[':
			toks, i = append(toks, token{kind: tLBracket, pos: start}), i+1
		case c == ']':
			toks, i = append(toks, token{kind: tRBracket, pos: start}), i+1
		case c == ',':
			toks, i = append(toks, token{kind: tComma, pos: start}), i+1
		case c == '+':
			toks, i = append(toks, token{kind: tAdd, pos: start}), i+1
		case c == '-':
			toks, i = append(toks, token{kind: tSub, pos: start}), i+1
		case c == '*':
			toks, i = append(toks, token{kind: tMul, pos: start}), i+1
		case c == '/':
			toks, i = append(toks, token{kind: tDiv, pos: start}), i+1
		case c == '%':
			toks, i = append(toks, token{kind: tMod, pos: start}), i+1
		case c == '&':
			toks, i = append(toks, token{kind: tBitAnd, pos: start}), i+1
		case c == '|':
			toks, i = append(toks, token{kind: tBitOr, pos: start}), i+1
		case c == '^':
			toks, i = append(toks, token{kind: tBitXor, pos: start}), i+1
		case c == '~':
			toks, i = append(toks, token{kind: tBitNot, pos: start}), i+1
		case c == '=':
			// Plan.g4's textMatchOption: MINIMUM_SHOULD_MATCH ASSIGN IntegerConstant.
			if n := len(toks); n > 0 && toks[n-1].kind == tIdent && assignName(toks[n-1].text) {
				toks, i = append(toks, token{kind: tAssign, pos: start}), i+1
				continue
			}
			return nil, &syntaxError{start, "unexpected '=', did you mean '=='?"}
		case c == '{':
			j := i + 1
			for j < len(text) && isSpace(text[j]) {
				j++
			}
			k := j
			for k < len(text) && isIdentByte(text, k) {
				_, w := utf8.DecodeRuneInString(text[k:])
				k += w
			}
			name := text[j:k]
			for k < len(text) && isSpace(text[k]) {
				k++
			}
			if name == "" || k >= len(text) || text[k] != '}' || !isIdentStart(name) {
				return nil, &syntaxError{start, "invalid placeholder: expected {name}"}
			}
			toks, i = append(toks, token{kind: tTemplate, pos: start, text: name}), k+1
		case c == '"' || c == '\'':
			s, n, err := lexString(text, i)
			if err != nil {
				return nil, err
			}
			toks, i = append(toks, token{kind: tString, pos: start, text: s}), i+n
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9':
			t, n, err := lexNumber(text, i)
			if err != nil {
				return nil, err
			}
			toks, i = append(toks, t), i+n
		case c == '$' && i+1 < len(text) && text[i+1] == '[':
			// StructSubFieldIdentifier: '$[' Identifier ']'
			j := i + 2
			for j < len(text) && isIdentByte(text, j) {
				_, w := utf8.DecodeRuneInString(text[j:])
				j += w
			}
			name := text[i+2 : j]
			if name == "" || j >= len(text) || text[j] != ']' || !isIdentStart(name) {
				return nil, &syntaxError{start, "invalid struct sub-field: expected $[name]"}
			}
			toks, i = append(toks, token{kind: tStructSub, pos: start, text: name}), j+1
		case c == '$' || isIdentByte(text, i):
			j := i + 1
			if c != '$' {
				_, w := utf8.DecodeRuneInString(text[i:])
				j = i + w
			}
			for j < len(text) && isIdentByte(text, j) {
				_, w := utf8.DecodeRuneInString(text[j:])
				j += w
			}
			word := text[i:j]
			if c >= '0' && c <= '9' || c == '$' && word != "$meta" {
				return nil, &syntaxError{start, fmt.Sprintf("invalid identifier %q", word)}
			}
			if k, ok := keyword(word); ok {
				toks = append(toks, token{kind: k, pos: start, text: word})
			} else {
				toks = append(toks, token{kind: tIdent, pos: start, text: word})
			}
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(text[i:])
			return nil, &syntaxError{start, fmt.Sprintf("unexpected character %q", r)}
		}
	}
}

// assignName reports the names Plan.g4 lets '=' follow: text_match's
// minimum_should_match and MATCH_LEAST/MOST/EXACT's threshold.
func assignName(s string) bool {
	switch s {
	case "minimum_should_match", "MINIMUM_SHOULD_MATCH", "threshold", "THRESHOLD":
		return true
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentByte(text string, i int) bool {
	c := text[i]
	if c < utf8.RuneSelf {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isIdentStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

// lexNumber reads an integer (decimal, 0x hex, 0b binary, 0o or leading-0
// octal) or a float (digits, optional fraction, optional exponent).
func lexNumber(text string, i int) (token, int, error) {
	start := i
	if text[i] == '0' && i+1 < len(text) && strings.ContainsRune("xXbBoO", rune(text[i+1])) {
		j := i + 2
		for j < len(text) && (isHex(text[j]) || text[j] == '_') {
			j++
		}
		lit := text[start:j]
		if _, err := strconv.ParseInt(lit, 0, 64); err != nil {
			return token{}, 0, &syntaxError{start, numErr(lit, err)}
		}
		return token{kind: tInt, pos: start, text: lit}, j - start, nil
	}
	j := i
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	float := false
	if j < len(text) && text[j] == '.' {
		float = true
		j++
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
	}
	if j < len(text) && (text[j] == 'e' || text[j] == 'E') {
		k := j + 1
		if k < len(text) && (text[k] == '+' || text[k] == '-') {
			k++
		}
		if k < len(text) && text[k] >= '0' && text[k] <= '9' {
			float = true
			for k < len(text) && text[k] >= '0' && text[k] <= '9' {
				k++
			}
			j = k
		}
	}
	if j < len(text) && isIdentByte(text, j) {
		return token{}, 0, &syntaxError{j, fmt.Sprintf("invalid number %q", text[start:j+1])}
	}
	lit := text[start:j]
	if float {
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			return token{}, 0, &syntaxError{start, numErr(lit, err)}
		}
		return token{kind: tFloat, pos: start, text: lit}, j - start, nil
	}
	if _, err := strconv.ParseInt(lit, 0, 64); err != nil {
		return token{}, 0, &syntaxError{start, numErr(lit, err)}
	}
	return token{kind: tInt, pos: start, text: lit}, j - start, nil
}

func numErr(lit string, err error) string {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return fmt.Sprintf("number %s out of range", lit)
	}
	return fmt.Sprintf("invalid number %q", lit)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// lexString reads a single- or double-quoted string with C/Go escapes and
// returns the decoded value and the number of bytes consumed.
func lexString(text string, i int) (string, int, error) {
	q := text[i]
	var b strings.Builder
	j := i + 1
	for j < len(text) {
		c := text[j]
		switch {
		case c == q:
			return b.String(), j + 1 - i, nil
		case c == '\\':
			if j+1 >= len(text) {
				return "", 0, &syntaxError{j, "unterminated string"}
			}
			e := text[j+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '0':
				b.WriteByte(0)
			case '\\', '"', '\'', '?':
				b.WriteByte(e)
			case '%', '_':
				// Kept escaped: meaningful to like patterns ("\%" is a literal %).
				b.WriteByte('\\')
				b.WriteByte(e)
			case 'x', 'u', 'U':
				n := 8 // \U
				switch e {
				case 'x':
					n = 2
				case 'u':
					n = 4
				}
				if j+2+n > len(text) {
					return "", 0, &syntaxError{j, "invalid escape sequence in string"}
				}
				v, err := strconv.ParseUint(text[j+2:j+2+n], 16, 32)
				if err != nil || (e != 'x' && !utf8.ValidRune(rune(v))) {
					return "", 0, &syntaxError{j, "invalid escape sequence in string"}
				}
				if e == 'x' {
					b.WriteByte(byte(v))
				} else {
					b.WriteRune(rune(v))
				}
				j += n
			default:
				return "", 0, &syntaxError{j, fmt.Sprintf("invalid escape sequence \\%c in string", e)}
			}
			j += 2
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, &syntaxError{i, "unterminated string"}
}

// quote renders s as a double-quoted literal that lexString reads back as s.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			if i+1 < len(s) && (s[i+1] == '%' || s[i+1] == '_') {
				b.WriteByte('\\') // an escaped wildcard stays one escape
			} else {
				b.WriteString(`\\`)
			}
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, "\\U%08x", r)
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	b.WriteByte('"')
	return b.String()
}
