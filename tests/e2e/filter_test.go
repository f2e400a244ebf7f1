package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// The filter language end to end (issue 4): one collection with every kind
// of field the language reads, a few hundred fixed rows, and a table of
// filters whose expected matches are computed here by plain Go predicates
// (the oracle). Each filter runs as a query, a count(*) query and a
// filtered FLAT search with a limit above the row count, which must all
// select exactly the oracle's rows.

const (
	filterColl = "filter_e2e"
	filterRows = 300
	filterDim  = 8
)

// filterRow is one inserted row as the oracle sees it.
type filterRow struct {
	id   int64
	i32  int32
	d    float64
	b    bool
	s    string
	j    map[string]any // the JSON field
	ai   []int64
	as   []string
	ni   *int32         // nullable Int32; nil is null
	meta map[string]any // dynamic keys
	jraw string         // if set, the JSON text inserted for j (same value)
	vec  []float32
}

var filterColors = []string{"red", "green", "blue", "Red"}

func makeFilterRows() []filterRow {
	words := []string{"apple", "banana", "cherry", "date", "elder"}
	rows := make([]filterRow, filterRows)
	for i := range rows {
		r := &rows[i]
		r.id = int64(i)
		r.i32 = int32((i*37)%101 - 50)
		r.d = float64(i)*0.25 - 20
		r.b = i%3 == 0
		r.s = fmt.Sprintf("%s_%d", words[i%5], i)
		if i%25 == 7 {
			r.s = fmt.Sprintf(`it's "%d" 50%%_x`, i)
		}
		if i%25 == 19 {
			r.s = fmt.Sprintf("café_%d ☕", i)
		}
		j := map[string]any{
			"a":    map[string]any{"b": []any{i % 4, i % 9, fmt.Sprintf("s%d", i%2)}},
			"name": fmt.Sprintf("nm%d", i%6),
			"f":    float64(i) / 4,
			"flag": i%2 == 0,
		}
		switch {
		case i%11 == 0: // no "n"
		case i%13 == 0:
			j["n"] = nil
		case i%23 == 0:
			j["n"] = "7"
		default:
			j["n"] = i % 10
		}
		if i%17 != 0 {
			j["tags"] = []any{fmt.Sprintf("t%d", i%3), fmt.Sprintf("t%d", i%5)}
		}
		// Values that need care in a JSON scanner: escapes (Go writes
		// <, > and & as \u003c...), integers above 2^53, keys with spaces
		// and non-ASCII, a "0" object key, arrays of objects.
		if i%10 == 3 {
			j["esc"] = fmt.Sprintf("<b>&\"q\" é %d", i%3)
			j["big"] = int64(1)<<53 + 1
			j["k é y"] = i % 3
			j["o"] = map[string]any{"0": "zero"}
			j["list"] = []any{map[string]any{"x": i % 2}, map[string]any{"x": i % 5}}
		} else {
			j["big"] = int64(1) << 53
			j["o"] = []any{"one", i % 2}
		}
		r.j = j
		if i%50 == 9 {
			// The same value written differently: a float spelling of an
			// integer, spaces, an escaped key.
			raw, _ := json.Marshal(j)
			r.jraw = strings.Replace(strings.Replace(string(raw), `"n":9,`, ` "n" : 9.0E0 , `, 1), `"name":`, `"n\u0061me":`, 1)
		}
		r.ai = make([]int64, i%6)
		for k := range r.ai {
			r.ai[k] = int64((i*3 + k*5) % 11)
		}
		r.as = make([]string, i%4)
		for k := range r.as {
			r.as[k] = fmt.Sprintf("%c%d", 'x'+k, (i+k)%4)
		}
		if i%4 != 0 {
			v := int32(i % 20)
			r.ni = &v
		}
		m := map[string]any{
			"color": filterColors[i%4],
			"extra": map[string]any{"k": i % 3, "arr": []any{i % 2, i % 3}},
			"score": float64(i) * 1.5,
		}
		if i%7 != 0 {
			m["size"] = i % 6
		}
		r.meta = m
		r.vec = make([]float32, filterDim)
		for k := range r.vec {
			r.vec[k] = float32((i*31+k*17)%97) / 97
		}
	}
	return rows
}

// JSON helpers for the oracle: a value at a path and its JSON type.

func jget(m map[string]any, path ...any) (any, bool) {
	var cur any = m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			o, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = o[k]; !ok {
				return nil, false
			}
		case int:
			a, ok := cur.([]any)
			if !ok || k >= len(a) {
				return nil, false
			}
			cur = a[k]
		}
	}
	return cur, true
}

// jnum is the number at path (JSON numbers only).
func jnum(m map[string]any, path ...any) (float64, bool) {
	v, ok := jget(m, path...)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func jstr(m map[string]any, path ...any) (string, bool) {
	v, ok := jget(m, path...)
	s, isStr := v.(string)
	return s, ok && isStr
}

func jarr(m map[string]any, path ...any) ([]any, bool) {
	v, ok := jget(m, path...)
	a, isArr := v.([]any)
	return a, ok && isArr
}

// jhas reports whether a JSON array holds v (numbers numerically, strings
// as strings).
func jhas(a []any, v any) bool {
	for _, e := range a {
		if jsonEqual(e, v) {
			return true
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	num := func(x any) (float64, bool) {
		switch v := x.(type) {
		case int:
			return float64(v), true
		case float64:
			return v, true
		}
		return 0, false
	}
	if x, ok := num(a); ok {
		y, ok := num(b)
		return ok && x == y
	}
	return a == b
}

func hasInt(a []int64, v int64) bool   { return slices.Contains(a, v) }
func hasStr(a []string, v string) bool { return slices.Contains(a, v) }

// filterCase is one filter and its oracle.
type filterCase struct {
	expr   string
	want   func(r *filterRow) bool
	params map[string]any // template values
}

func filterCases() []filterCase {
	ni := func(r *filterRow) (int32, bool) {
		if r.ni == nil {
			return 0, false
		}
		return *r.ni, true
	}
	return []filterCase{
		// Literals: integers in every base, floats with exponents, booleans in any case.
		{expr: `id < 10`, want: func(r *filterRow) bool { return r.id < 10 }},
		{expr: `i32 == 0x1F`, want: func(r *filterRow) bool { return r.i32 == 31 }},
		{expr: `i32 > -0X0a`, want: func(r *filterRow) bool { return r.i32 > -10 }},
		{expr: `i32 == 0o17 or i32 == 017`, want: func(r *filterRow) bool { return r.i32 == 15 }},
		{expr: `i32 == 0b101 || i32 == 0B11`, want: func(r *filterRow) bool { return r.i32 == 5 || r.i32 == 3 }},
		{expr: `d > 1.5e1`, want: func(r *filterRow) bool { return r.d > 15 }},
		{expr: `d <= 25E-1`, want: func(r *filterRow) bool { return r.d <= 2.5 }},
		{expr: `d > -1.25E+1 and d < .5`, want: func(r *filterRow) bool { return r.d > -12.5 && r.d < 0.5 }},
		{expr: `d == 1.`, want: func(r *filterRow) bool { return r.d == 1 }},
		{expr: `b == true`, want: func(r *filterRow) bool { return r.b }},
		{expr: `b == False`, want: func(r *filterRow) bool { return !r.b }},
		{expr: `b != TRUE`, want: func(r *filterRow) bool { return !r.b }},
		{expr: `s == "apple_5"`, want: func(r *filterRow) bool { return r.s == "apple_5" }},
		{expr: `s == 'banana_1'`, want: func(r *filterRow) bool { return r.s == "banana_1" }},
		{expr: `s == "it's \"7\" 50%_x"`, want: func(r *filterRow) bool { return r.s == `it's "7" 50%_x` }},
		{expr: `s == 'it\'s "32" 50%_x'`, want: func(r *filterRow) bool { return r.s == `it's "32" 50%_x` }},
		{expr: `s in ["\u0061pple_0", "ch\x65rry_2"]`, want: func(r *filterRow) bool { return r.s == "apple_0" || r.s == "cherry_2" }},

		// Comparisons: field vs constant on either side, field vs field.
		{expr: `i32 >= 10`, want: func(r *filterRow) bool { return r.i32 >= 10 }},
		{expr: `10 < i32`, want: func(r *filterRow) bool { return r.i32 > 10 }},
		{expr: `-3 >= i32`, want: func(r *filterRow) bool { return r.i32 <= -3 }},
		{expr: `d != 0`, want: func(r *filterRow) bool { return r.d != 0 }},
		{expr: `i32 > 1.5`, want: func(r *filterRow) bool { return r.i32 >= 2 }},
		{expr: `s > "d"`, want: func(r *filterRow) bool { return r.s > "d" }},
		{expr: `s <= "b"`, want: func(r *filterRow) bool { return r.s <= "b" }},
		{expr: `i32 < d`, want: func(r *filterRow) bool { return float64(r.i32) < r.d }},
		{expr: `id == i32`, want: func(r *filterRow) bool { return r.id == int64(r.i32) }},
		{expr: `i32 >= id`, want: func(r *filterRow) bool { return int64(r.i32) >= r.id }},
		{expr: `i32 >= ni`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && r.i32 >= v }},

		// Chained ranges.
		{expr: `-10 < i32 <= 10`, want: func(r *filterRow) bool { return r.i32 > -10 && r.i32 <= 10 }},
		{expr: `20 >= d > 5`, want: func(r *filterRow) bool { return r.d > 5 && r.d <= 20 }},
		{expr: `"b" <= s < "d"`, want: func(r *filterRow) bool { return r.s >= "b" && r.s < "d" }},
		{expr: `0 <= ni < 5`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && v >= 0 && v < 5 }},
		{expr: `1 < j["n"] < 5`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "n"); return ok && v > 1 && v < 5 }},
		{expr: `1 <= size < 4`, want: func(r *filterRow) bool { v, ok := jnum(r.meta, "size"); return ok && v >= 1 && v < 4 }},
		{expr: `1 < ai[1] < 8`, want: func(r *filterRow) bool { return len(r.ai) > 1 && r.ai[1] > 1 && r.ai[1] < 8 }},

		// in / not in.
		{expr: `i32 in [1, 2, 3, -5]`, want: func(r *filterRow) bool { return slices.Contains([]int32{1, 2, 3, -5}, r.i32) }},
		{expr: `id not in [0, 1, 2, 299]`, want: func(r *filterRow) bool { return !slices.Contains([]int64{0, 1, 2, 299}, r.id) }},
		{expr: `id in [5, 77, 1000]`, want: func(r *filterRow) bool { return r.id == 5 || r.id == 77 }},
		{expr: `s in ["apple_0", 'banana_1', "nope"]`, want: func(r *filterRow) bool { return r.s == "apple_0" || r.s == "banana_1" }},
		{expr: `d in [0.5, 1.0, -20, 3]`, want: func(r *filterRow) bool { return slices.Contains([]float64{0.5, 1, -20, 3}, r.d) }},
		{expr: `ni in [1, 2, 3]`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && v >= 1 && v <= 3 }},
		{expr: `ni not in [1, 2, 3]`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && (v < 1 || v > 3) }},
		{expr: `j["n"] in [1, 2, "7"]`, want: func(r *filterRow) bool {
			v, _ := jget(r.j, "n")
			return jhas([]any{1, 2, "7"}, v)
		}},
		{expr: `j["name"] not in ["nm1", "nm2"]`, want: func(r *filterRow) bool {
			v, _ := jstr(r.j, "name")
			return v != "nm1" && v != "nm2"
		}},
		{expr: `color in ["red", "blue"]`, want: func(r *filterRow) bool {
			v, _ := jstr(r.meta, "color")
			return v == "red" || v == "blue"
		}},
		{expr: `ai[0] in [0, 3]`, want: func(r *filterRow) bool { return len(r.ai) > 0 && (r.ai[0] == 0 || r.ai[0] == 3) }},

		// like: % and _ anywhere, escapes for literal % and _.
		{expr: `s like "apple%"`, want: func(r *filterRow) bool { return strings.HasPrefix(r.s, "apple") }},
		{expr: `s like "%_1"`, want: func(r *filterRow) bool { return len(r.s) >= 2 && strings.HasSuffix(r.s, "1") }},
		{expr: `s like "%an%"`, want: func(r *filterRow) bool { return strings.Contains(r.s, "an") }},
		{expr: `s like "b_nana%"`, want: func(r *filterRow) bool { return strings.HasPrefix(r.s, "banana") }},
		{expr: `s like "c%y_1_"`, want: func(r *filterRow) bool { return regexp.MustCompile(`^c.*y.1.$`).MatchString(r.s) }},
		{expr: `s like "it\'s%"`, want: func(r *filterRow) bool { return strings.HasPrefix(r.s, "it's") }},
		{expr: `s like "%50\%\_x"`, want: func(r *filterRow) bool { return strings.HasSuffix(r.s, "50%_x") }},
		{expr: `s like "%\\_2%"`, want: func(r *filterRow) bool { return strings.Contains(r.s, "_2") }},
		{expr: `j["name"] like "nm_"`, want: func(r *filterRow) bool { v, ok := jstr(r.j, "name"); return ok && len(v) == 3 }},
		{expr: `j["name"] like "%3"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "name"); return v == "nm3" }},
		{expr: `color like "r%"`, want: func(r *filterRow) bool { v, _ := jstr(r.meta, "color"); return strings.HasPrefix(v, "r") }},
		{expr: `as[0] like "x%"`, want: func(r *filterRow) bool { return len(r.as) > 0 }},
		{expr: `as[1] like "%0"`, want: func(r *filterRow) bool { return len(r.as) > 1 && strings.HasSuffix(r.as[1], "0") }},

		// Arithmetic on a field compared with a constant.
		{expr: `i32 + 5 == 10`, want: func(r *filterRow) bool { return r.i32+5 == 10 }},
		{expr: `5 + i32 == 10`, want: func(r *filterRow) bool { return r.i32+5 == 10 }},
		{expr: `i32 - 3 > 40`, want: func(r *filterRow) bool { return r.i32-3 > 40 }},
		{expr: `i32 * 2 <= -80`, want: func(r *filterRow) bool { return r.i32*2 <= -80 }},
		{expr: `i32 / 3 == -4`, want: func(r *filterRow) bool { return r.i32/3 == -4 }},
		{expr: `i32 % 7 == 0`, want: func(r *filterRow) bool { return r.i32%7 == 0 }},
		{expr: `i32 % 7 != 0`, want: func(r *filterRow) bool { return r.i32%7 != 0 }},
		{expr: `id % 10 == 3`, want: func(r *filterRow) bool { return r.id%10 == 3 }},
		{expr: `d * 2 > 50.5`, want: func(r *filterRow) bool { return r.d*2 > 50.5 }},
		{expr: `d - 1.5 < -18`, want: func(r *filterRow) bool { return r.d-1.5 < -18 }},
		{expr: `d / 4 == 1.25`, want: func(r *filterRow) bool { return r.d/4 == 1.25 }},
		{expr: `j["n"] + 1 == 5`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "n"); return ok && v+1 == 5 }},
		{expr: `size * 2 == 6`, want: func(r *filterRow) bool { v, ok := jnum(r.meta, "size"); return ok && v*2 == 6 }},
		{expr: `ni % 2 == 1`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && v%2 == 1 }},
		{expr: `ai[0] * 2 == 10`, want: func(r *filterRow) bool { return len(r.ai) > 0 && r.ai[0] == 5 }},

		// Logic.
		{expr: `b == true and i32 > 0`, want: func(r *filterRow) bool { return r.b && r.i32 > 0 }},
		{expr: `b == true && i32 > 0`, want: func(r *filterRow) bool { return r.b && r.i32 > 0 }},
		{expr: `b == True AND i32 > 0 AND id < 100`, want: func(r *filterRow) bool { return r.b && r.i32 > 0 && r.id < 100 }},
		{expr: `b == true or id < 5`, want: func(r *filterRow) bool { return r.b || r.id < 5 }},
		{expr: `b == true || id < 5 OR id > 295`, want: func(r *filterRow) bool { return r.b || r.id < 5 || r.id > 295 }},
		{expr: `not (b == true)`, want: func(r *filterRow) bool { return !r.b }},
		{expr: `!(b == TRUE)`, want: func(r *filterRow) bool { return !r.b }},
		{expr: `NOT (i32 > 0 and d < 10)`, want: func(r *filterRow) bool { return !(r.i32 > 0 && r.d < 10) }},
		{expr: `!(id < 290) || (b == true && s like "a%")`, want: func(r *filterRow) bool { return r.id >= 290 || (r.b && strings.HasPrefix(r.s, "a")) }},
		{expr: `(id < 10 or id > 290) and not (b == true)`, want: func(r *filterRow) bool { return (r.id < 10 || r.id > 290) && !r.b }},
		{expr: `((i32 > 0) and ((d < 0) or (s like "e%")))`, want: func(r *filterRow) bool {
			return r.i32 > 0 && (r.d < 0 || strings.HasPrefix(r.s, "e"))
		}},
		{expr: `not (id in [1, 2, 3]) and id < 6`, want: func(r *filterRow) bool { return r.id == 0 || r.id == 4 || r.id == 5 }},

		// Nulls: comparisons with null are false, not never selects them, is null finds them.
		{expr: `ni is null`, want: func(r *filterRow) bool { return r.ni == nil }},
		{expr: `ni IS NOT NULL`, want: func(r *filterRow) bool { return r.ni != nil }},
		{expr: `ni is not null and ni > 10`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && v > 10 }},
		{expr: `ni > 10`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && v > 10 }},
		{expr: `not (ni > 10)`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && !(v > 10) }},
		{expr: `ni != 5`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && v != 5 }},
		{expr: `ni is null or ni == 3`, want: func(r *filterRow) bool { v, ok := ni(r); return !ok || v == 3 }},
		// Three-valued logic (Milvus 2.6): null and false is false, so its
		// negation selects a null ni row where i32 > 0 is false; null and
		// true is null, and not null is null.
		{expr: `not (ni > 1 and i32 > 0)`, want: func(r *filterRow) bool {
			v, ok := ni(r)
			if !ok {
				return r.i32 <= 0
			}
			return !(v > 1 && r.i32 > 0)
		}},
		{expr: `ni > 1 or i32 > 40`, want: func(r *filterRow) bool { v, ok := ni(r); return (ok && v > 1) || r.i32 > 40 }},
		{expr: `not (ni > 1 or i32 > 40)`, want: func(r *filterRow) bool { v, ok := ni(r); return ok && !(v > 1) && !(r.i32 > 40) }},
		{expr: `not (ni is null and i32 > 0)`, want: func(r *filterRow) bool { return !(r.ni == nil && r.i32 > 0) }},

		// exists and JSON null.
		{expr: `exists j["tags"]`, want: func(r *filterRow) bool { _, ok := jget(r.j, "tags"); return ok }},
		{expr: `exists j["n"]`, want: func(r *filterRow) bool { _, ok := jget(r.j, "n"); return ok }},
		{expr: `not exists j["n"]`, want: func(r *filterRow) bool { _, ok := jget(r.j, "n"); return !ok }},
		{expr: `j["n"] is null`, want: func(r *filterRow) bool { _, ok := jget(r.j, "n"); return !ok }},
		{expr: `j["n"] is not null`, want: func(r *filterRow) bool { _, ok := jget(r.j, "n"); return ok }},
		{expr: `exists j["a"]["b"][2]`, want: func(r *filterRow) bool { return true }},
		{expr: `exists size`, want: func(r *filterRow) bool { _, ok := jget(r.meta, "size"); return ok }},
		{expr: `exists extra["k"] and not exists extra["zz"]`, want: func(r *filterRow) bool { return true }},

		// JSON paths by JSON type.
		{expr: `j["a"]["b"][0] == 2`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "a", "b", 0); return ok && v == 2 }},
		{expr: `j["a"]["b"][1] > 6`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "a", "b", 1); return ok && v > 6 }},
		{expr: `j["a"]["b"][2] == "s1"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "a", "b", 2); return v == "s1" }},
		{expr: `j["a"]["b"][5] == 1`, want: func(r *filterRow) bool { return false }},
		{expr: `j["f"] > 50`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "f"); return ok && v > 50 }},
		{expr: `j["f"] == 2`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "f"); return ok && v == 2 }},
		{expr: `j["f"] == 2.25`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "f"); return ok && v == 2.25 }},
		{expr: `j["flag"] == true`, want: func(r *filterRow) bool { v, _ := jget(r.j, "flag"); return v == true }},
		{expr: `j["n"] == 7`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "n"); return ok && v == 7 }},
		{expr: `j["n"] == "7"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "n"); return v == "7" }},
		{expr: `j["n"] != 3`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "n"); return !ok || v != 3 }},
		{expr: `j["n"] >= 8`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "n"); return ok && v >= 8 }},
		{expr: `j['name'] == 'nm2'`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "name"); return v == "nm2" }},
		{expr: `j["tags"][1] == "t4"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "tags", 1); return v == "t4" }},
		{expr: `j["tags"] == ["t0", "t0"]`, want: func(r *filterRow) bool {
			a, ok := jarr(r.j, "tags")
			return ok && len(a) == 2 && a[0] == "t0" && a[1] == "t0"
		}},

		// Array elements.
		{expr: `ai[0] == 3`, want: func(r *filterRow) bool { return len(r.ai) > 0 && r.ai[0] == 3 }},
		{expr: `ai[2] > 5`, want: func(r *filterRow) bool { return len(r.ai) > 2 && r.ai[2] > 5 }},
		{expr: `as[1] == "y3"`, want: func(r *filterRow) bool { return len(r.as) > 1 && r.as[1] == "y3" }},
		{expr: `as[2] != "z0"`, want: func(r *filterRow) bool { return len(r.as) > 2 && r.as[2] != "z0" }},
		{expr: `ai == [3, 8]`, want: func(r *filterRow) bool { return slices.Equal(r.ai, []int64{3, 8}) }},

		// Dynamic keys by bare name and through $meta.
		{expr: `color == "red"`, want: func(r *filterRow) bool { v, _ := jstr(r.meta, "color"); return v == "red" }},
		{expr: `$meta["color"] == "Red"`, want: func(r *filterRow) bool { v, _ := jstr(r.meta, "color"); return v == "Red" }},
		{expr: `size > 3`, want: func(r *filterRow) bool { v, ok := jnum(r.meta, "size"); return ok && v > 3 }},
		{expr: `size in [1, 2]`, want: func(r *filterRow) bool { v, ok := jnum(r.meta, "size"); return ok && (v == 1 || v == 2) }},
		{expr: `extra["k"] == 2`, want: func(r *filterRow) bool { v, ok := jnum(r.meta, "extra", "k"); return ok && v == 2 }},
		{expr: `extra["arr"][1] == 0`, want: func(r *filterRow) bool { v, ok := jnum(r.meta, "extra", "arr", 1); return ok && v == 0 }},
		{expr: `score >= 300.5 and color != "green"`, want: func(r *filterRow) bool {
			v, _ := jnum(r.meta, "score")
			c, _ := jstr(r.meta, "color")
			return v >= 300.5 && c != "green"
		}},

		// json_contains family.
		{expr: `json_contains(j["tags"], "t1")`, want: func(r *filterRow) bool { a, _ := jarr(r.j, "tags"); return jhas(a, "t1") }},
		{expr: `JSON_CONTAINS(j["a"]["b"], 3)`, want: func(r *filterRow) bool { a, _ := jarr(r.j, "a", "b"); return jhas(a, 3) }},
		{expr: `json_contains_all(j["tags"], ["t0", "t3"])`, want: func(r *filterRow) bool {
			a, _ := jarr(r.j, "tags")
			return jhas(a, "t0") && jhas(a, "t3")
		}},
		{expr: `json_contains_any(j["tags"], ["t4", "t2"])`, want: func(r *filterRow) bool {
			a, _ := jarr(r.j, "tags")
			return jhas(a, "t4") || jhas(a, "t2")
		}},
		{expr: `json_contains_any(j["a"]["b"], [8, "s0"])`, want: func(r *filterRow) bool {
			a, _ := jarr(r.j, "a", "b")
			return jhas(a, 8) || jhas(a, "s0")
		}},
		{expr: `json_contains(extra["arr"], 2)`, want: func(r *filterRow) bool { a, _ := jarr(r.meta, "extra", "arr"); return jhas(a, 2) }},
		{expr: `json_contains(ai, 4)`, want: func(r *filterRow) bool { return hasInt(r.ai, 4) }},

		// array_contains family and array_length.
		{expr: `array_contains(ai, 7)`, want: func(r *filterRow) bool { return hasInt(r.ai, 7) }},
		{expr: `array_contains_all(ai, [0, 5])`, want: func(r *filterRow) bool { return hasInt(r.ai, 0) && hasInt(r.ai, 5) }},
		{expr: `array_contains_any(ai, [1, 10])`, want: func(r *filterRow) bool { return hasInt(r.ai, 1) || hasInt(r.ai, 10) }},
		{expr: `array_contains(as, "y3")`, want: func(r *filterRow) bool { return hasStr(r.as, "y3") }},
		{expr: `array_contains_any(as, ["x3", "z1"])`, want: func(r *filterRow) bool { return hasStr(r.as, "x3") || hasStr(r.as, "z1") }},
		{expr: `array_contains_all(as, ["x2", "y3"])`, want: func(r *filterRow) bool { return hasStr(r.as, "x2") && hasStr(r.as, "y3") }},
		{expr: `array_contains(j["tags"], "t2")`, want: func(r *filterRow) bool { a, _ := jarr(r.j, "tags"); return jhas(a, "t2") }},
		{expr: `not array_contains(ai, 0)`, want: func(r *filterRow) bool { return !hasInt(r.ai, 0) }},
		{expr: `array_length(ai) == 3`, want: func(r *filterRow) bool { return len(r.ai) == 3 }},
		{expr: `array_length(ai) < 2`, want: func(r *filterRow) bool { return len(r.ai) < 2 }},
		{expr: `array_length(as) > 1`, want: func(r *filterRow) bool { return len(r.as) > 1 }},
		{expr: `ARRAY_LENGTH(j["tags"]) == 2`, want: func(r *filterRow) bool { a, ok := jarr(r.j, "tags"); return ok && len(a) == 2 }},

		// Constants outside the column's range, empty lists, primary keys.
		{expr: `i32 < 3000000000`, want: func(r *filterRow) bool { return true }},
		{expr: `i32 > -3000000000 and i32 != 3000000000`, want: func(r *filterRow) bool { return true }},
		{expr: `i32 == 3000000000 or i32 in [5000000000, 7]`, want: func(r *filterRow) bool { return r.i32 == 7 }},
		{expr: `id in []`, want: func(r *filterRow) bool { return false }},
		{expr: `id not in []`, want: func(r *filterRow) bool { return true }},
		{expr: `id == 42`, want: func(r *filterRow) bool { return r.id == 42 }},
		{expr: `id in [42, 260] and b == false`, want: func(r *filterRow) bool { return (r.id == 42 || r.id == 260) && !r.b }},
		{expr: `j["f"] in [2.25, 3, 70]`, want: func(r *filterRow) bool {
			v, ok := jnum(r.j, "f")
			return ok && (v == 2.25 || v == 3 || v == 70)
		}},
		{expr: `j["flag"] != True and j["a"]["b"][0] <= 1`, want: func(r *filterRow) bool {
			f, _ := jget(r.j, "flag")
			v, ok := jnum(r.j, "a", "b", 0)
			return f != true && ok && v <= 1
		}},

		// JSON values that need unescaping, exact big integers, odd keys.
		{expr: `j["esc"] == "<b>&\"q\" é 1"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "esc"); return v == `<b>&"q" é 1` }},
		{expr: `j["esc"] like "<b>&%é 2"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "esc"); return v == `<b>&"q" é 2` }},
		{expr: `j["esc"] in ["<b>&\"q\" é 0"]`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "esc"); return v == `<b>&"q" é 0` }},
		{expr: `j["big"] == 9007199254740993`, want: func(r *filterRow) bool { v, _ := jget(r.j, "big"); return v == int64(1)<<53+1 }},
		{expr: `j["big"] == 9007199254740992`, want: func(r *filterRow) bool { v, _ := jget(r.j, "big"); return v == int64(1)<<53 }},
		{expr: `j["big"] > 9007199254740992`, want: func(r *filterRow) bool { v, _ := jget(r.j, "big"); return v == int64(1)<<53+1 }},
		{expr: `j["k é y"] == 2`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "k é y"); return ok && v == 2 }},
		{expr: `j["o"]["0"] == "zero"`, want: func(r *filterRow) bool { _, isObj := r.j["o"].(map[string]any); return isObj }},
		// A path is a list of keys in Milvus (a JSON pointer in segcore), so
		// "0" and 0 both index an array and both name an object key.
		{expr: `j["o"]["0"] == "one"`, want: func(r *filterRow) bool { _, isArr := r.j["o"].([]any); return isArr }},
		{expr: `j["o"][0] == "zero" or j["o"][0] == "one"`, want: func(r *filterRow) bool { return true }},
		{expr: `j["o"][1] == 1`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "o", 1); return ok && v == 1 }},
		{expr: `j["list"][1]["x"] >= 3`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "list", 1, "x"); return ok && v >= 3 }},
		{expr: `exists j["list"][0]["x"]`, want: func(r *filterRow) bool { _, ok := jget(r.j, "list", 0, "x"); return ok }},
		{expr: `s like "%é%"`, want: func(r *filterRow) bool { return strings.Contains(r.s, "é") }},
		{expr: `s like "%☕"`, want: func(r *filterRow) bool { return strings.HasSuffix(r.s, "☕") }},
		{expr: `s == "café_44 ☕"`, want: func(r *filterRow) bool { return r.s == "café_44 ☕" }},
		{expr: `s > "caf" and s < "cafz"`, want: func(r *filterRow) bool { return r.s > "caf" && r.s < "cafz" }},
		// Keywords in upper case.
		{expr: `i32 IN [1, 2] OR s LIKE "elder%" OR EXISTS j["esc"]`, want: func(r *filterRow) bool {
			_, ok := jget(r.j, "esc")
			return r.i32 == 1 || r.i32 == 2 || strings.HasPrefix(r.s, "elder") || ok
		}},
		{expr: `i32 NOT IN [1, 2] && ni IS NULL`, want: func(r *filterRow) bool { return r.i32 != 1 && r.i32 != 2 && r.ni == nil }},

		// More shapes: like with quotes and regexp metacharacters, ranges
		// on JSON strings, long or-chains, double negation, big in-lists.
		{expr: `j["esc"] like "<b>&\"q\"%"`, want: func(r *filterRow) bool { _, ok := jstr(r.j, "esc"); return ok }},
		{expr: `s like "%\"7\"%" or s like "it's \"[3]%" or s like "%.%"`, want: func(r *filterRow) bool { return strings.Contains(r.s, `"7"`) }},
		{expr: `"nm1" <= j["name"] < "nm3"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "name"); return v == "nm1" || v == "nm2" }},
		{expr: `j["name"] > "nm4"`, want: func(r *filterRow) bool { v, _ := jstr(r.j, "name"); return v > "nm4" }},
		{expr: `j["flag"] in [true] and j["n"] in [0]`, want: func(r *filterRow) bool {
			v, ok := jnum(r.j, "n")
			return r.j["flag"] == true && ok && v == 0
		}},
		{expr: `id == 1 or id == 3 or id == 5 or id == 250 or i32 == -50`, want: func(r *filterRow) bool {
			return r.id == 1 || r.id == 3 || r.id == 5 || r.id == 250 || r.i32 == -50
		}},
		{expr: `not not (id < 5)`, want: func(r *filterRow) bool { return r.id < 5 }},
		{expr: `!!(id < 5) && !(!(b == true))`, want: func(r *filterRow) bool { return r.id < 5 && r.b }},
		{expr: `{lo} < j["n"] < {hi}`, params: map[string]any{"lo": 2, "hi": 6.5}, want: func(r *filterRow) bool {
			v, ok := jnum(r.j, "n")
			return ok && v > 2 && v < 6.5
		}},
		{expr: `id in {many} and id not in {few}`, params: map[string]any{"many": seq(0, 200), "few": seq(50, 150)}, want: func(r *filterRow) bool {
			return r.id < 50 || (r.id >= 150 && r.id < 200)
		}},

		{expr: `j["n"] == 9 and j["name"] in ["nm3", "nm5"]`, want: func(r *filterRow) bool {
			v, ok := jnum(r.j, "n")
			nm, _ := jstr(r.j, "name")
			return ok && v == 9 && (nm == "nm3" || nm == "nm5")
		}},

		// JSON numbers compare numerically whatever their spelling.
		{expr: `json_contains(j["a"]["b"], 3.0) or j["n"] in [7.0]`, want: func(r *filterRow) bool {
			a, _ := jarr(r.j, "a", "b")
			v, ok := jnum(r.j, "n")
			return jhas(a, 3) || (ok && v == 7)
		}},
		{expr: `j["f"] == 5 or j["f"] == 5.5e0`, want: func(r *filterRow) bool { v, ok := jnum(r.j, "f"); return ok && (v == 5 || v == 5.5) }},

		// Templates.
		{expr: `i32 > {x}`, params: map[string]any{"x": 10}, want: func(r *filterRow) bool { return r.i32 > 10 }},
		{expr: `d < {f} and b == {flag}`, params: map[string]any{"f": -5.5, "flag": true}, want: func(r *filterRow) bool { return r.d < -5.5 && r.b }},
		{expr: `s in {names}`, params: map[string]any{"names": []string{"apple_0", "date_3"}}, want: func(r *filterRow) bool {
			return r.s == "apple_0" || r.s == "date_3"
		}},
		{expr: `{lo} < id <= {hi}`, params: map[string]any{"lo": int64(100), "hi": int64(120)}, want: func(r *filterRow) bool { return r.id > 100 && r.id <= 120 }},
		{expr: `array_contains_any(ai, {vals})`, params: map[string]any{"vals": []int64{2, 9}}, want: func(r *filterRow) bool {
			return hasInt(r.ai, 2) || hasInt(r.ai, 9)
		}},
		{expr: `json_contains(j["tags"], {t}) and color == {c}`, params: map[string]any{"t": "t4", "c": "blue"}, want: func(r *filterRow) bool {
			a, _ := jarr(r.j, "tags")
			c, _ := jstr(r.meta, "color")
			return jhas(a, "t4") && c == "blue"
		}},
		{expr: `{x} < i32`, params: map[string]any{"x": -7}, want: func(r *filterRow) bool { return r.i32 > -7 }},
		// NaN and ±Inf template values: taken as Milvus takes them, and
		// compared as segcore's C++ compares (NaN: only != holds).
		{expr: `d > {x}`, params: map[string]any{"x": math.NaN()}, want: func(r *filterRow) bool { return false }},
		{expr: `d != {x}`, params: map[string]any{"x": math.NaN()}, want: func(r *filterRow) bool { return true }},
		{expr: `d < {x} and {y} < d`, params: map[string]any{"x": math.Inf(1), "y": math.Inf(-1)}, want: func(r *filterRow) bool { return true }},
		{expr: `{lo} <= d < {hi}`, params: map[string]any{"lo": math.Inf(-1), "hi": -15.0}, want: func(r *filterRow) bool { return r.d < -15 }},
		{expr: `d in {xs}`, params: map[string]any{"xs": []float64{math.NaN(), -20}}, want: func(r *filterRow) bool { return r.d == -20 }},
		{expr: `d not in {xs}`, params: map[string]any{"xs": []float64{math.NaN()}}, want: func(r *filterRow) bool { return true }},
		{expr: `j["n"] > {x}`, params: map[string]any{"x": math.Inf(-1)}, want: func(r *filterRow) bool { _, ok := jnum(r.j, "n"); return ok }},
		{expr: `i32 + {a} == {b}`, params: map[string]any{"a": 3, "b": 10}, want: func(r *filterRow) bool { return r.i32+3 == 10 }},
		{expr: `d in {xs} or d > {i}`, params: map[string]any{"xs": []float64{-19.75, 0.25}, "i": 50}, want: func(r *filterRow) bool {
			return r.d == -19.75 || r.d == 0.25 || r.d > 50
		}},
		{expr: `b in {bs} and i32 in {is}`, params: map[string]any{"bs": []bool{false}, "is": []int64{-1, 0, 1, 2}}, want: func(r *filterRow) bool {
			return !r.b && r.i32 >= -1 && r.i32 <= 2
		}},
		{expr: `json_contains_all(j["tags"], {ts}) or array_contains_all(as, {as})`, params: map[string]any{"ts": []string{"t2", "t3"}, "as": []string{"x3", "y0"}},
			want: func(r *filterRow) bool {
				a, _ := jarr(r.j, "tags")
				return (jhas(a, "t2") && jhas(a, "t3")) || (hasStr(r.as, "x3") && hasStr(r.as, "y0"))
			}},
		{expr: `array_length(ai) == {n} and $meta["size"] >= {sz}`, params: map[string]any{"n": 4, "sz": 2}, want: func(r *filterRow) bool {
			v, ok := jnum(r.meta, "size")
			return len(r.ai) == 4 && ok && v >= 2
		}},
		{expr: `j["name"] == {name} and ni > {lo}`, params: map[string]any{"name": "nm5", "lo": 10}, want: func(r *filterRow) bool {
			v, _ := jstr(r.j, "name")
			return v == "nm5" && r.ni != nil && *r.ni > 10
		}},
		{expr: `id in {ids}`, params: map[string]any{"ids": []int64{3, 4, 250}}, want: func(r *filterRow) bool { return r.id == 3 || r.id == 4 || r.id == 250 }},
	}
}

// insertFilterRows writes rows [lo, hi) column by column, the dynamic keys
// as one pre-composed dynamic column (named "" as the SDK names the one it
// builds itself).
func insertFilterRows(t *testing.T, cli *milvusclient.Client, rows []filterRow) {
	t.Helper()
	ctx := testContext(t)
	n := len(rows)
	ids := make([]int64, n)
	i32s := make([]int32, n)
	ds := make([]float64, n)
	bs := make([]bool, n)
	ss := make([]string, n)
	js := make([][]byte, n)
	ais := make([][]int64, n)
	ass := make([][]string, n)
	var nis []int32
	valid := make([]bool, n)
	metas := make([][]byte, n)
	vecs := make([][]float32, n)
	for i, r := range rows {
		ids[i], i32s[i], ds[i], bs[i], ss[i] = r.id, r.i32, r.d, r.b, r.s
		var err error
		if js[i], err = json.Marshal(r.j); err != nil {
			t.Fatal(err)
		}
		if r.jraw != "" {
			js[i] = []byte(r.jraw)
		}
		if metas[i], err = json.Marshal(r.meta); err != nil {
			t.Fatal(err)
		}
		ais[i], ass[i], vecs[i] = r.ai, r.as, r.vec
		if r.ni != nil {
			nis = append(nis, *r.ni)
			valid[i] = true
		}
	}
	niCol, err := column.NewNullableColumnInt32("ni", nis, valid)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(filterColl).
		WithInt64Column("id", ids).WithInt32Column("i32", i32s).WithBoolColumn("b", bs).
		WithVarcharColumn("s", ss).WithFloatVectorColumn("v", filterDim, vecs).
		WithColumns(column.NewColumnDouble("d", ds), column.NewColumnJSONBytes("j", js),
			column.NewColumnInt64Array("ai", ais), column.NewColumnVarCharArray("as", ass), niCol,
			column.NewColumnJSONBytes("", metas).WithIsDynamic(true)))
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if res.InsertCount != int64(n) {
		t.Fatalf("inserted %d rows, want %d", res.InsertCount, n)
	}
}

// filterSchema is the collection every filter case runs on.
func filterSchema() *entity.Schema {
	return entity.NewSchema().WithName(filterColl).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("i32").WithDataType(entity.FieldTypeInt32)).
		WithField(entity.NewField().WithName("d").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("b").WithDataType(entity.FieldTypeBool)).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("j").WithDataType(entity.FieldTypeJSON)).
		WithField(entity.NewField().WithName("ai").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeInt64).WithMaxCapacity(8)).
		WithField(entity.NewField().WithName("as").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeVarChar).WithMaxCapacity(4).WithMaxLength(16)).
		WithField(entity.NewField().WithName("ni").WithDataType(entity.FieldTypeInt32).WithNullable(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(filterDim))
}

func TestFilterLanguage(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)

	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(filterColl, filterSchema())))

	// Half the rows flushed into a sealed segment, half left growing, so
	// both kinds of segment evaluate every filter.
	rows := makeFilterRows()
	insertFilterRows(t, cli, rows[:filterRows/2])
	flush(t, ctx, cli, filterColl)
	insertFilterRows(t, cli, rows[filterRows/2:])
	indexAndLoad(t, ctx, cli, filterColl, "v", index.NewFlatIndex(entity.L2))

	all, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithOutputFields("count(*)")))
	must(t, err)
	if c, _ := all.GetColumn("count(*)").GetAsInt64(0); c != filterRows {
		t.Fatalf("count(*) = %d, want %d", c, filterRows)
	}
	query := rows[123].vec

	for _, fc := range filterCases() {
		var want []int64
		for i := range rows {
			if fc.want(&rows[i]) {
				want = append(want, rows[i].id)
			}
		}
		t.Run(fc.expr, func(t *testing.T) { checkFilter(t, cli, filterColl, fc.expr, fc.params, want, query) })
	}

	// With a limit below the number of matches, a FLAT search returns the
	// nearest matching rows: their distances are the smallest among the
	// matches (compared as distances because rows share vectors).
	t.Run("top k", func(t *testing.T) {
		for _, fc := range filterCases()[:40] {
			var dists []float32
			for i := range rows {
				if fc.want(&rows[i]) {
					dists = append(dists, l2sq(rows[i].vec, query))
				}
			}
			slices.Sort(dists)
			const k = 7
			so := strong(milvusclient.NewSearchOption(filterColl, k, []entity.Vector{entity.FloatVector(query)}).
				WithANNSField("v").WithFilter(fc.expr).WithOutputFields("i32"))
			for name, v := range fc.params {
				so.WithTemplateParam(name, v)
			}
			sr, err := cli.Search(ctx, so)
			if err != nil {
				t.Fatalf("%s: %v", fc.expr, err)
			}
			want := dists[:min(k, len(dists))]
			got := ids(t, sr[0])
			if len(got) != len(want) {
				t.Errorf("%s: %d results, want %d", fc.expr, len(got), len(want))
				continue
			}
			for i, id := range got {
				r := &rows[id]
				if !fc.want(r) || !near(sr[0].Scores[i], want[i]) || !near(l2sq(r.vec, query), want[i]) {
					t.Errorf("%s: result %d is id %d score %v, want a matching row at distance %v", fc.expr, i, id, sr[0].Scores[i], want[i])
				}
				if v, err := sr[0].GetColumn("i32").GetAsInt64(i); err != nil || v != int64(r.i32) {
					t.Errorf("%s: result %d i32 = %v, %v; want %d", fc.expr, i, v, err, r.i32)
				}
			}
		}
	})

	// Pages of a filtered query (limit/offset) and of a filtered search
	// (offset) add up to the unpaged result.
	t.Run("pages", func(t *testing.T) {
		const f = `json_contains_any(j["tags"], ["t1", "t4"]) and i32 % 2 == 0`
		var want []int64
		for i := range rows {
			a, _ := jarr(rows[i].j, "tags")
			if (jhas(a, "t1") || jhas(a, "t4")) && rows[i].i32%2 == 0 {
				want = append(want, rows[i].id)
			}
		}
		var got []int64
		for off := 0; off < len(want)+10; off += 10 {
			qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithFilter(f).WithOutputFields("id").WithLimit(10).WithOffset(off)))
			must(t, err)
			page := int64Col(t, qr, "id")
			if wantLen := min(10, max(0, len(want)-off)); len(page) != wantLen {
				t.Fatalf("query page at %d: %d rows, want %d", off, len(page), wantLen)
			}
			got = append(got, page...)
		}
		if slices.Sort(got); !slices.Equal(got, want) {
			t.Fatalf("query pages: %s", diffIDs(got, want))
		}
		search := func(limit, offset int) []float32 {
			sr, err := cli.Search(ctx, strong(milvusclient.NewSearchOption(filterColl, limit, []entity.Vector{entity.FloatVector(query)}).
				WithANNSField("v").WithFilter(f).WithOffset(offset)))
			must(t, err)
			for _, id := range ids(t, sr[0]) {
				if !slices.Contains(want, id) {
					t.Fatalf("search limit %d offset %d returned id %d, which does not match", limit, offset, id)
				}
			}
			return sr[0].Scores
		}
		all := search(len(want), 0)
		if len(all) != len(want) {
			t.Fatalf("search: %d results, want %d", len(all), len(want))
		}
		for off := 0; off < len(want); off += 7 {
			page := search(7, off)
			if wantPage := all[off:min(off+7, len(all))]; !slices.EqualFunc(page, wantPage, near) {
				t.Errorf("search offset %d: scores %v, want %v", off, page, wantPage)
			}
		}
	})

	// The rows a filter selects read back as written: typed columns, JSON,
	// arrays, nulls and dynamic keys.
	t.Run("output", func(t *testing.T) {
		pick := []int64{0, 7, 13, 44, 150, 231, 299}
		qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).
			WithFilter(`id in {ids} and (exists j["a"] or ni is null)`).WithTemplateParam("ids", pick).WithOutputFields("*")))
		must(t, err)
		if qr.ResultCount != len(pick) {
			t.Fatalf("%d rows, want %d (columns %v)", qr.ResultCount, len(pick), columnNames(qr))
		}
		idc := int64Col(t, qr, "id")
		for i := range qr.ResultCount {
			r := &rows[idc[i]]
			get := func(name string) any {
				c := qr.GetColumn(name)
				if c == nil {
					t.Fatalf("no column %q in %v", name, columnNames(qr))
				}
				if null, err := c.IsNull(i); err != nil || null {
					return nil
				}
				v, err := c.Get(i)
				if err != nil {
					t.Fatalf("column %s row %d: %v", name, i, err)
				}
				return v
			}
			jsonSame := func(name string, want map[string]any) {
				raw, _ := get(name).([]byte)
				var g, w any
				wb, _ := json.Marshal(want)
				if json.Unmarshal(raw, &g) != nil || json.Unmarshal(wb, &w) != nil || !reflect.DeepEqual(g, w) {
					t.Errorf("id %d: %s = %s, want %s", r.id, name, raw, wb)
				}
			}
			if get("i32") != r.i32 || get("d") != r.d || get("b") != r.b || get("s") != r.s {
				t.Errorf("id %d: scalars %v %v %v %q, want %v %v %v %q", r.id, get("i32"), get("d"), get("b"), get("s"), r.i32, r.d, r.b, r.s)
			}
			if ai, _ := get("ai").([]int64); !slices.Equal(ai, r.ai) {
				t.Errorf("id %d: ai = %v, want %v", r.id, get("ai"), r.ai)
			}
			if as, _ := get("as").([]string); !slices.Equal(as, r.as) {
				t.Errorf("id %d: as = %v, want %v", r.id, get("as"), r.as)
			}
			if got := get("ni"); (r.ni == nil) != (got == nil) || (r.ni != nil && got != *r.ni) {
				t.Errorf("id %d: ni = %v, want %v", r.id, got, r.ni)
			}
			jsonSame("j", r.j)
			jsonSame("$meta", r.meta)
		}
	})

	// Dynamic keys named as output fields come back projected from $meta;
	// a filtered search returns the same values.
	t.Run("dynamic output", func(t *testing.T) {
		const f = `size >= 4 and color like "%e%"`
		var want []int64
		for i := range rows {
			v, ok := jnum(rows[i].meta, "size")
			c, _ := jstr(rows[i].meta, "color")
			if ok && v >= 4 && strings.Contains(c, "e") {
				want = append(want, rows[i].id)
			}
		}
		qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithFilter(f).WithOutputFields("color", "size", "i32", "ni", "as")))
		must(t, err)
		sr, err := cli.Search(ctx, strong(milvusclient.NewSearchOption(filterColl, filterRows, []entity.Vector{entity.FloatVector(query)}).
			WithANNSField("v").WithFilter(f).WithOutputFields("color", "size", "i32", "ni", "as")))
		must(t, err)
		for name, rs := range map[string]milvusclient.ResultSet{"query": qr, "search": sr[0]} {
			var idc []int64
			if name == "query" {
				idc = int64Col(t, rs, "id")
			} else {
				idc = ids(t, rs)
			}
			if got := sortedCopy(idc); !slices.Equal(got, want) {
				t.Errorf("%s: %s", name, diffIDs(got, want))
				continue
			}
			for i, id := range idc {
				r := &rows[id]
				c, err1 := rs.GetColumn("color").GetAsString(i)
				sz, err2 := rs.GetColumn("size").GetAsInt64(i)
				v, err3 := rs.GetColumn("i32").GetAsInt64(i)
				wc, _ := jstr(r.meta, "color")
				ws, _ := jnum(r.meta, "size")
				if err1 != nil || err2 != nil || err3 != nil || c != wc || float64(sz) != ws || v != int64(r.i32) {
					t.Errorf("%s: id %d: color %q size %d i32 %d (%v %v %v), want %q %v %d", name, id, c, sz, v, err1, err2, err3, wc, ws, r.i32)
				}
				isNull, err := rs.GetColumn("ni").IsNull(i)
				must(t, err)
				if isNull != (r.ni == nil) {
					t.Errorf("%s: id %d: ni null %v, want %v", name, id, isNull, r.ni == nil)
				} else if r.ni != nil {
					if v, err := rs.GetColumn("ni").GetAsInt64(i); err != nil || v != int64(*r.ni) {
						t.Errorf("%s: id %d: ni = %d, %v; want %d", name, id, v, err, *r.ni)
					}
				}
				if as, err := rs.GetColumn("as").Get(i); err != nil || !slices.Equal(as.([]string), r.as) {
					t.Errorf("%s: id %d: as = %v, %v; want %v", name, id, as, err, r.as)
				}
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			expr      string
			fragments []string
		}{
			{`s > 1`, []string{"s > 1", "comparisons between VarChar and Int64 are not supported"}},
			// A bare Bool field is not a predicate in Milvus (canBeExecuted).
			{`b`, []string{"predicate is not a boolean expression", "b"}},
			{`not b`, []string{"not b", "boolean"}},
			{`b and id > 1`, []string{"b and id > 1", "boolean"}},
			{`b == 1`, []string{"b == 1", "Bool"}},
			{`i32 == "a"`, []string{`i32 == "a"`, "Int32", "VarChar"}},
			{`json_contains(j["tags"])`, []string{"json_contains", "2 arguments"}},
			{`array_length(ai, 1) == 1`, []string{"array_length", "1 argument"}},
			{`array_contains_all(ai, 1)`, []string{"array_contains_all(ai, 1)"}},
			{`(id > 1`, []string{"(id > 1", "expected ')'"}},
			{`id > 1)`, []string{"id > 1)", "unexpected ')'"}},
			{`((id > 1) and (b)`, []string{"((id > 1) and (b)", "expected ')'"}},
			{`id > `, []string{"id >"}},
			{`i32 == {missing}`, []string{"{missing}", "not found"}},
			{`nofunc(id)`, []string{"nofunc", "not found"}},
			{`s like 1`, []string{"s like 1"}},
			{`i32 + d == 1`, []string{"i32 + d == 1"}},
		} {
			qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithFilter(c.expr).WithOutputFields("id")))
			if err == nil {
				t.Errorf("query %q: no error, %d rows", c.expr, qr.ResultCount)
				continue
			}
			t.Run("query "+c.expr, func(t *testing.T) { wantCode(t, err, 1100, c.fragments...) })
			_, err = cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithFilter(c.expr).WithOutputFields("count(*)")))
			t.Run("count "+c.expr, func(t *testing.T) { wantCode(t, err, 1100, c.fragments...) })
			_, err = cli.Search(ctx, strong(milvusclient.NewSearchOption(filterColl, 10, []entity.Vector{entity.FloatVector(query)}).
				WithANNSField("v").WithFilter(c.expr)))
			t.Run("search "+c.expr, func(t *testing.T) { wantCode(t, err, 1100, c.fragments...) })
			_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(filterColl).WithExpr(c.expr))
			t.Run("delete "+c.expr, func(t *testing.T) { wantCode(t, err, 1100, c.fragments...) })
		}
	})

	// Delete by filter removes exactly the matching rows (run last: it
	// changes the data).
	t.Run("delete", func(t *testing.T) {
		const del = `(json_contains(j["tags"], "t1") and ni is null) or (array_length(ai) == 5 and color like "%e%")`
		want := 0
		for i := range rows {
			r := &rows[i]
			a, _ := jarr(r.j, "tags")
			c, _ := jstr(r.meta, "color")
			if (jhas(a, "t1") && r.ni == nil) || (len(r.ai) == 5 && strings.Contains(c, "e")) {
				want++
			}
		}
		dr, err := cli.Delete(ctx, milvusclient.NewDeleteOption(filterColl).WithExpr(del))
		must(t, err)
		if dr.DeleteCount != int64(want) {
			t.Errorf("deleted %d rows, want %d", dr.DeleteCount, want)
		}
		cr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithFilter(del).WithOutputFields("count(*)")))
		must(t, err)
		if c, _ := cr.GetColumn("count(*)").GetAsInt64(0); c != 0 {
			t.Errorf("count(*) of deleted rows = %d", c)
		}
		cr, err = cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithOutputFields("count(*)")))
		must(t, err)
		if c, _ := cr.GetColumn("count(*)").GetAsInt64(0); c != int64(filterRows-want) {
			t.Errorf("count(*) after delete = %d, want %d", c, filterRows-want)
		}
	})

	// An upsert replaces a row: filters see the new values only, on the
	// sealed (id < 150) and the growing half alike.
	t.Run("upsert", func(t *testing.T) {
		up := []filterRow{rows[10], rows[200]}
		pks := []int64{up[0].id, up[1].id}
		js := [][]byte{[]byte(`{"n": 1000}`), []byte(`{"n": 1000}`)}
		ni, err := column.NewNullableColumnInt32("ni", nil, []bool{false, false})
		must(t, err)
		_, err = cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(filterColl).
			WithInt64Column("id", pks).WithInt32Column("i32", []int32{1000, 1001}).WithBoolColumn("b", []bool{up[0].b, up[1].b}).
			WithVarcharColumn("s", []string{up[0].s, up[1].s}).WithFloatVectorColumn("v", filterDim, [][]float32{up[0].vec, up[1].vec}).
			WithColumns(column.NewColumnDouble("d", []float64{up[0].d, up[1].d}), column.NewColumnJSONBytes("j", js),
				column.NewColumnInt64Array("ai", [][]int64{up[0].ai, up[1].ai}), column.NewColumnVarCharArray("as", [][]string{up[0].as, up[1].as}), ni))
		must(t, err)
		for _, c := range []struct {
			expr string
			want []int64
		}{
			{`i32 >= 1000`, pks},
			{`j["n"] == 1000 and ni is null`, pks},
			{fmt.Sprintf(`id in [10, 200] and i32 in [%d, %d]`, rows[10].i32, rows[200].i32), nil},
			{`id in [10, 200] and exists j["a"]`, nil},
			{`id in [10, 200] and exists color`, nil},
		} {
			t.Run(c.expr, func(t *testing.T) { checkFilter(t, cli, filterColl, c.expr, nil, c.want, up[0].vec) })
		}
	})

	// Without a dynamic field an unknown name is an error, not a $meta key.
	t.Run("unknown field", func(t *testing.T) {
		const static = "filter_e2e_static"
		sch := entity.NewSchema().WithName(static).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(filterDim))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(static, sch)))
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(static).
			WithInt64Column("id", []int64{1, 2}).WithFloatVectorColumn("v", filterDim, [][]float32{rows[0].vec, rows[1].vec}))
		must(t, err)
		indexAndLoad(t, ctx, cli, static, "v", index.NewFlatIndex(entity.L2))
		for _, e := range []string{`nope > 1`, `id > 0 and nope["k"] == 1`} {
			_, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(static).WithFilter(e).WithOutputFields("id")))
			wantCode(t, err, 1100, "nope", "not exist")
			_, err = cli.Search(ctx, strong(milvusclient.NewSearchOption(static, 10, []entity.Vector{entity.FloatVector(query)}).
				WithANNSField("v").WithFilter(e)))
			wantCode(t, err, 1100, "nope", "not exist")
		}
		// In the dynamic collection the same name is a missing $meta key.
		qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(filterColl).WithFilter(`nope > 1`).WithOutputFields("count(*)")))
		must(t, err)
		if c, _ := qr.GetColumn("count(*)").GetAsInt64(0); c != 0 {
			t.Errorf("count(*) where nope > 1 = %d, want 0", c)
		}
	})
}

// TestFilterAfterRestart runs every filter case after a restart: the
// sealed half of the rows comes from binlogs on disk, the growing half is
// rebuilt from the log.
func TestFilterAfterRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(filterColl, filterSchema())))
	rows := makeFilterRows()
	insertFilterRows(t, cli, rows[:filterRows/2])
	flush(t, ctx, cli, filterColl)
	indexAndLoad(t, ctx, cli, filterColl, "v", index.NewFlatIndex(entity.L2))
	insertFilterRows(t, cli, rows[filterRows/2:])
	srv.stop()

	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(filterColl))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	query := rows[77].vec
	for _, fc := range filterCases() {
		var want []int64
		for i := range rows {
			if fc.want(&rows[i]) {
				want = append(want, rows[i].id)
			}
		}
		t.Run(fc.expr, func(t *testing.T) { checkFilter(t, cli, filterColl, fc.expr, fc.params, want, query) })
	}
}

// checkFilter runs expr (with template values params) on coll as a query,
// a count(*) query and a filtered search for vec with a limit above the
// row count, each of which must select exactly the sorted keys want.
func checkFilter(t *testing.T, cli *milvusclient.Client, coll, expr string, params map[string]any, want []int64, vec []float32) {
	t.Helper()
	ctx := testContext(t)
	qo := strong(milvusclient.NewQueryOption(coll).WithFilter(expr).WithOutputFields("id"))
	co := strong(milvusclient.NewQueryOption(coll).WithFilter(expr).WithOutputFields("count(*)"))
	so := strong(milvusclient.NewSearchOption(coll, filterRows, []entity.Vector{entity.FloatVector(vec)}).
		WithANNSField("v").WithFilter(expr))
	for k, v := range params {
		qo.WithTemplateParam(k, v)
		co.WithTemplateParam(k, v)
		so.WithTemplateParam(k, v)
	}
	qr, err := cli.Query(ctx, qo)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if got := sortedCopy(int64Col(t, qr, "id")); !slices.Equal(got, want) {
		t.Errorf("query: %s", diffIDs(got, want))
	}
	cr, err := cli.Query(ctx, co)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	if c, err := cr.GetColumn("count(*)").GetAsInt64(0); err != nil || c != int64(len(want)) {
		t.Errorf("count(*) = %d, %v; want %d", c, err, len(want))
	}
	sr, err := cli.Search(ctx, so)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(sr) != 1 {
		t.Fatalf("search: %d result sets", len(sr))
	}
	if got := sortedCopy(ids(t, sr[0])); !slices.Equal(got, want) {
		t.Errorf("search: %s", diffIDs(got, want))
	}
	for i := 1; i < len(sr[0].Scores); i++ { // L2: nearest first
		if sr[0].Scores[i] < sr[0].Scores[i-1] {
			t.Errorf("search scores not ascending at %d: %v", i, sr[0].Scores[i-1:i+1])
			break
		}
	}
}

// diffIDs describes how got differs from want (both sorted).
func diffIDs(got, want []int64) string {
	var extra, missing []int64
	for _, g := range got {
		if _, ok := slices.BinarySearch(want, g); !ok {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if _, ok := slices.BinarySearch(got, w); !ok {
			missing = append(missing, w)
		}
	}
	trim := func(x []int64) string {
		if len(x) > 12 {
			return fmt.Sprint(x[:12]) + fmt.Sprintf("...(%d)", len(x))
		}
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("got %d ids, want %d; unexpected %s, missing %s", len(got), len(want), trim(extra), trim(missing))
}

// seq is [lo, hi).
func seq(lo, hi int64) []int64 {
	var out []int64
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}
