package expr

import (
	"context"
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/errs"
)

func TestMarshalRoundTrip(t *testing.T) {
	schema := testSchema()
	for _, text := range []string{
		`id in [1, 2, 3] and s like "ap%"`,
		`not (j["a"]["b"] == "x\"y") or color in ["red", "blue"]`,
		`1 <= i32 < 40 and d * 2.5 > 3 and array_contains_any(ai, [1, 3])`,
		`f == 0.1 or i8 > -1.5 or b != false or exists $meta["n"]`,
		`json_contains_all(j["tags"], [1, "x", [1, 2]]) || as is null`,
		`array_length(ai) >= 2 and ai[0] < i64 and s not in ["a\\%", "\u00e9"]`,
	} {
		e, err := Parse(schema, text, nil)
		if err != nil {
			t.Fatalf("Parse(%s): %v", text, err)
		}
		data, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		e2, err := Unmarshal(schema, data)
		if err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		if e.String() != e2.String() {
			t.Errorf("round trip changed %s into %s", e, e2)
		}
		b1, _ := e.Eval(context.Background(), smallBatch())
		b2, _ := e2.Eval(context.Background(), smallBatch())
		for i := range b1.Len() {
			if b1.Test(i) != b2.Test(i) {
				t.Errorf("%s: row %d differs after round trip", text, i)
			}
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	schema := testSchema()
	for _, data := range []string{
		`not json`,
		`{"v": 2, "expr": "id > 1", "fields": [100]}`,
		`{"v": 1, "expr": "id >", "fields": [100]}`,
		`{"v": 1, "expr": "id > 1", "fields": [999]}`,
	} {
		_, err := Unmarshal(schema, []byte(data))
		if !errors.Is(err, errs.ErrParameterInvalid) {
			t.Errorf("Unmarshal(%s) = %v, want ErrParameterInvalid", data, err)
		}
	}
}

func TestMayMatch(t *testing.T) {
	stats := func(id int64) (any, any, bool) {
		switch id {
		case fID:
			return int64(10), int64(20), true
		case fS:
			return "b", "d", true
		case fF:
			return float32(0.1), float32(0.1), true
		}
		return nil, nil, false
	}
	f := func(text string, want bool) {
		t.Helper()
		e, err := Parse(testSchema(), text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.MayMatch(stats); got != want {
			t.Errorf("MayMatch(%s) = %v, want %v", text, got, want)
		}
	}
	f(`id > 20`, false)
	f(`id >= 20`, true)
	f(`id < 10`, false)
	f(`id == 15`, true)
	f(`id == 15.5`, true)
	f(`id in [1, 2, 30]`, false)
	f(`id in [1, 12]`, true)
	f(`id not in [15]`, true)
	f(`id != 15`, true)
	f(`21 <= id < 30`, false)
	f(`5 < id <= 10`, true)
	f(`id > 25 or s == "c"`, true)
	f(`id > 25 and s == "c"`, false)
	f(`s > "d"`, false)
	f(`s like "a%"`, true)
	f(`i64 > 100`, true)
	f(`not (id > 25)`, true)
	f(`f == 0.1`, true)
	f(`false`, false)
	f(`j["a"] > 1000`, true)
}

func TestEvalContext(t *testing.T) {
	e, err := Parse(testSchema(), `id > 1`, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Eval(ctx, smallBatch()); !errors.Is(err, context.Canceled) {
		t.Errorf("Eval with cancelled context = %v, want context.Canceled", err)
	}
	b := smallBatch()
	delete(b.cols, fID)
	if _, err := e.Eval(context.Background(), b); err == nil {
		t.Error("Eval with a missing column succeeded")
	}
}
