package expr

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TestNonFiniteTemplates checks NaN and ±Inf template values, which Milvus
// takes (ConvertToGenericValue passes any double on) and segcore compares
// as C++ does: NaN compares false but for !=, so `in` never holds for it
// and `not in` always; ±Inf bound every number. A plan holding them ships
// to the query nodes and back (Marshal, Unmarshal) with the same rows.
func TestNonFiniteTemplates(t *testing.T) {
	num := func(f float64) *schemapb.TemplateValue {
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_FloatVal{FloatVal: f}}
	}
	arr := func(fs ...float64) *schemapb.TemplateValue {
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{
			Data: &schemapb.TemplateArrayValue_DoubleData{DoubleData: &schemapb.DoubleArray{Data: fs}}}}}
	}
	nan, inf, ninf := math.NaN(), math.Inf(1), math.Inf(-1)
	all := []int{0, 1, 2, 3, 4, 5}
	for _, c := range []struct {
		text string
		x, y *schemapb.TemplateValue
		want []int
	}{
		// f: 0.1, 0.5, 1.5, 2, 2.5, -1; d: 1.5, 2.5, 3.5, null, 5.5, 6.5.
		{`f > {x}`, num(nan), nil, nil},
		{`f <= {x}`, num(nan), nil, nil},
		{`f == {x}`, num(nan), nil, nil},
		{`f != {x}`, num(nan), nil, all},
		{`d != {x}`, num(nan), nil, []int{0, 1, 2, 4, 5}},
		{`f < {x}`, num(inf), nil, all},
		{`f > {x}`, num(inf), nil, nil},
		{`f > {x}`, num(ninf), nil, all},
		{`d >= {x}`, num(ninf), nil, []int{0, 1, 2, 4, 5}},
		{`{x} < f < {y}`, num(ninf), num(inf), all},
		{`{x} < d < {y}`, num(nan), num(inf), nil},
		{`f in {x}`, arr(nan, 0.5), nil, []int{1}},
		{`f not in {x}`, arr(nan), nil, all},
		{`d in {x}`, arr(inf, 2.5), nil, []int{1}},
		{`j["a"] > {x}`, num(ninf), nil, []int{0, 1}},
		{`j["a"] == {x}`, num(nan), nil, nil},
		{`ad[0] < {x}`, num(inf), nil, []int{0, 2, 3, 4, 5}},
	} {
		tpl := map[string]*schemapb.TemplateValue{"x": c.x}
		if c.y != nil {
			tpl["y"] = c.y
		}
		e, err := Parse(testSchema(), c.text, tpl)
		if err != nil {
			t.Errorf("Parse(%s): %v", c.text, err)
			continue
		}
		wire, err := e.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%s): %v", c.text, err)
		}
		shipped, err := Unmarshal(testSchema(), wire)
		if err != nil {
			t.Errorf("Unmarshal(%s) of %s: %v", c.text, wire, err)
			continue
		}
		if shipped.String() != e.String() {
			t.Errorf("%s: shipped as %s, was %s", c.text, shipped, e)
		}
		for _, p := range []*Expr{e, shipped} {
			bs, err := p.Eval(context.Background(), smallBatch())
			if err != nil {
				t.Fatalf("Eval(%s): %v", p, err)
			}
			var got []int
			bs.ForEach(func(i int) { got = append(got, i) })
			if !slices.Equal(got, c.want) {
				t.Errorf("%s (plan %s): rows %v, want %v", c.text, p, got, c.want)
			}
		}
	}
}
