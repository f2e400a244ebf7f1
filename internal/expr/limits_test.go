package expr

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLimits checks that hostile filters are rejected or handled quickly,
// without deep recursion.
func TestLimits(t *testing.T) {
	schema := testSchema()
	f := func(name, text string, wantErr bool) {
		t.Helper()
		start := time.Now()
		e, err := Parse(schema, text, nil)
		if (err != nil) != wantErr {
			t.Fatalf("%s: Parse error = %v, want error %v", name, err, wantErr)
		}
		if err == nil {
			if _, err := e.Eval(context.Background(), smallBatch()); err != nil {
				t.Fatalf("%s: Eval: %v", name, err)
			}
		}
		// Generous: this guards against super-linear behaviour, not speed, on
		// a shared machine and under -race.
		limit := 15 * time.Second
		if raceEnabled {
			limit = 60 * time.Second
		}
		if d := time.Since(start); d > limit {
			t.Errorf("%s took %v", name, d)
		}
	}
	f("long and chain", strings.Repeat("id > 1 and ", 20000)+"id > 1", false)
	f("long or chain", strings.Repeat("id > 1 || ", 20000)+"id > 1", false)
	var b strings.Builder
	b.WriteString("id in [")
	for i := range 100000 {
		b.WriteString(strconv.Itoa(i))
		b.WriteString(", ")
	}
	b.WriteString("1]")
	f("long in list", b.String(), false)
	f("too long", "id > 1 and "+strings.Repeat(" ", MaxTextLength)+"id > 1", true)
	f("deep parens", strings.Repeat("(", MaxDepth+1)+"id > 1"+strings.Repeat(")", MaxDepth+1), true)
	f("allowed parens", strings.Repeat("(", MaxDepth-3)+"id > 1"+strings.Repeat(")", MaxDepth-3), false)
	f("deep not", strings.Repeat("not ", 100000)+"(id > 1)", true)
	f("deep arrays", "id in "+strings.Repeat("[", 100000), true)
	f("deep unary minus", "id > "+strings.Repeat("-", 100000)+"1", true)
	f("deep json path", "j"+strings.Repeat(`["a"]`, 100000)+" == 1", false)
	f("many stars", `s like "`+strings.Repeat("%a", 5000)+`"`, false)
}
