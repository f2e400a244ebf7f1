package expr

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// JSON cast functions (Milvus 2.6's json_cast_function on a JSON path
// index). Milvus applies the cast only when it builds the index, so a
// segment with the index and a segment without answer the same filter
// differently. Milvago puts the cast in the filter plan instead: the proxy
// attaches the casts of the collection's JSON path indexes to the plan
// (WithJSONCasts), and every segment, indexed or scanned, sealed or
// growing, compares with the cast applied. See docs/json-indexes.md.

// CastStringToDouble is json_cast_function STRING_TO_DOUBLE: in a numeric
// comparison (==, !=, <, <=, >, >=, ranges, in, not in against numbers) a
// string at the path that reads as a number (as C++ std::stod reads it)
// compares as that number. Comparisons against strings and bools, like,
// and every other function see the value as it is.
const CastStringToDouble = "STRING_TO_DOUBLE"

// JSONCast is a cast function applied to the values at one path of a JSON
// field (Path as a filter resolves it: ["a", "b"] for field["a"]["b"]).
type JSONCast struct {
	FieldID  int64    `json:"field"`
	Path     []string `json:"path"`
	Function string   `json:"fn"`
}

type castFn uint8

const (
	castNone castFn = iota
	castStrToDouble
)

func castOf(name string) castFn {
	if strings.EqualFold(strings.TrimSpace(name), CastStringToDouble) {
		return castStrToDouble
	}
	return castNone
}

// WithJSONCasts returns the plan with the cast functions of casts applied
// to the comparisons on their paths (the receiver when none applies). An
// unknown function is ignored.
func (e *Expr) WithJSONCasts(casts []JSONCast) *Expr {
	var used []JSONCast
	find := func(f fieldRef) castFn {
		for _, c := range casts {
			if c.FieldID == f.ID && slices.Equal(c.Path, f.Path) && castOf(c.Function) != castNone {
				if !slices.ContainsFunc(used, func(u JSONCast) bool { return u.FieldID == c.FieldID && slices.Equal(u.Path, c.Path) }) {
					used = append(used, c)
				}
				return castOf(c.Function)
			}
		}
		return castNone
	}
	root, changed := castNodes(e.root, find)
	if !changed {
		return e
	}
	out := newExpr(root)
	out.casts = used
	return out
}

// JSONCasts are the casts the plan applies.
func (e *Expr) JSONCasts() []JSONCast { return e.casts }

// castNodes rewrites the comparisons on a JSON path with a cast; the
// tree is immutable, so changed nodes are copies.
func castNodes(n node, find func(fieldRef) castFn) (node, bool) {
	withCast := func(f fieldRef) (fieldRef, bool) {
		if f.Type != schemapb.DataType_JSON {
			return f, false
		}
		c := find(f)
		if c == f.Cast {
			return f, false
		}
		f.Cast = c
		return f, true
	}
	switch n := n.(type) {
	case *cmpNode:
		if f, ok := withCast(n.f); ok {
			c := *n
			c.f = f
			return &c, true
		}
	case *rangeNode:
		if f, ok := withCast(n.f); ok {
			c := *n
			c.f = f
			return &c, true
		}
	case *termNode:
		if f, ok := withCast(n.f); ok {
			c := *n
			c.f = f
			return &c, true
		}
	case *notNode:
		if k, ok := castNodes(n.kid, find); ok {
			return &notNode{kid: k}, true
		}
	case *logicNode:
		kids := make([]node, len(n.kids))
		changed := false
		for i, k := range n.kids {
			var ok bool
			kids[i], ok = castNodes(k, find)
			changed = changed || ok
		}
		if changed {
			return newLogic(n.and, kids), true
		}
	}
	return n, false
}

// castNumeric is r as a numeric comparison sees it under cast c: a string
// that reads as a number becomes that number.
func castNumeric(c castFn, r jsonVal) jsonVal {
	if c != castStrToDouble || r.kind != jString {
		return r
	}
	if f, ok := StringToDouble(r.s); ok {
		return jsonVal{kind: jFloat, f: f}
	}
	return r
}

// StringToDouble reads s as C++ std::stod does (Milvus's STRING_TO_DOUBLE
// cast): leading white space, then the longest prefix that is a decimal
// or hexadecimal floating-point number, inf, infinity or nan (any case),
// with an optional sign; the rest of s is ignored. It fails when no
// prefix is a number or the value is out of range (std::stod throws
// std::out_of_range on overflow and on underflow).
func StringToDouble(s string) (float64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	neg := i > start && s[start] == '-'
	rest := s[i:]
	low := strings.ToLower(rest[:min(len(rest), 8)])
	switch {
	case strings.HasPrefix(low, "infinity"), strings.HasPrefix(low, "inf"):
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case strings.HasPrefix(low, "nan"):
		return math.NaN(), true
	}
	hex := len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')
	j := 0
	if hex {
		j = 2
	}
	isDigit := func(c byte) bool {
		if hex {
			return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
		}
		return c >= '0' && c <= '9'
	}
	digits := 0
	nonzero := false
	for j < len(rest) && isDigit(rest[j]) {
		nonzero = nonzero || rest[j] != '0'
		j++
		digits++
	}
	if j < len(rest) && rest[j] == '.' {
		j++
		for j < len(rest) && isDigit(rest[j]) {
			nonzero = nonzero || rest[j] != '0'
			j++
			digits++
		}
	}
	if digits == 0 {
		if hex {
			return 0, true // "0x" reads as the 0 before the x
		}
		return 0, false
	}
	mant := rest[:j]
	exp := ""
	expCh := byte('e')
	if hex {
		expCh = 'p'
	}
	if j < len(rest) && (rest[j]|0x20) == expCh {
		k := j + 1
		if k < len(rest) && (rest[k] == '+' || rest[k] == '-') {
			k++
		}
		d := k
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		if k > d {
			exp = rest[j:k]
		}
	}
	num := mant + exp
	if hex && exp == "" {
		num += "p0"
	}
	if neg {
		num = "-" + num
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false // overflow (ErrRange)
	}
	if nonzero && (f == 0 || math.Abs(f) < 0x1p-1022) {
		return 0, false // underflow: strtod sets ERANGE
	}
	return f, true
}
