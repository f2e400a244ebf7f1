package geometry

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestWKTRoundTrip(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		b, err := WKTToWKB(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, err := WKBToWKT(b)
		if err != nil || got != want {
			t.Fatalf("%s: %q, %v; want %q", in, got, err, want)
		}
	}
	f("POINT(1 2)", "POINT (1 2)")
	f("point (1.5 -2.25)", "POINT (1.5 -2.25)")
	f("LINESTRING(0 0, 1 1, 2 0)", "LINESTRING (0 0, 1 1, 2 0)")
	f("POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))", "POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))")
	f("MULTIPOINT((1 1), (2 2))", "MULTIPOINT (1 1, 2 2)") // go-geom's text, as Milvus
	if _, err := WKTToWKB("POINT(1)"); err == nil {
		t.Fatal("POINT(1) parsed")
	}
	if _, err := CheckWKB([]byte{1, 2, 3}); err == nil {
		t.Fatal("garbage WKB accepted")
	}
	if err := IsPoint("LINESTRING(0 0, 1 1)"); err == nil || !strings.Contains(err.Error(), "only supports POINT geometry") {
		t.Fatalf("IsPoint: %v", err)
	}
}

func TestPredicates(t *testing.T) {
	f := func(op Op, row, query string, want bool) {
		t.Helper()
		p, err := NewPredicate(op, query, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := WKTToWKB(row)
		if got := p.Match(b); got != want {
			t.Fatalf("%s(%s, %s) = %v", op, row, query, got)
		}
	}
	sq := "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))"
	f(Contains, sq, "POINT(1 1)", true)
	f(Contains, sq, "POINT(5 5)", false)
	f(Within, "POINT(1 1)", sq, true)
	f(Within, "POINT(4 2)", sq, false) // on the boundary: not within
	f(Touches, "POINT(4 2)", sq, true)
	f(Intersects, "POINT(4 2)", sq, true)
	f(Intersects, "POINT(5 2)", sq, false)
	f(Equals, "POLYGON((4 4, 0 4, 0 0, 4 0, 4 4))", sq, true) // topological equality
	f(Overlaps, "POLYGON((2 2, 6 2, 6 6, 2 6, 2 2))", sq, true)
	f(Overlaps, "POLYGON((1 1, 2 1, 2 2, 1 2, 1 1))", sq, false) // inside, not overlapping
	f(Crosses, "LINESTRING(-1 2, 5 2)", sq, true)
	f(Crosses, "LINESTRING(1 1, 2 2)", sq, false)

	// ST_DWITHIN: meters, haversine for points (1 degree of latitude ~ 111.2 km).
	p, err := NewPredicate(DWithin, "POINT(10 50)", 112000)
	if err != nil {
		t.Fatal(err)
	}
	near, _ := WKTToWKB("POINT(10 51)")
	far, _ := WKTToWKB("POINT(10 51.1)")
	if !p.Match(near) || p.Match(far) {
		t.Fatal("dwithin by haversine")
	}
	if _, err := NewPredicate(DWithin, "LINESTRING(0 0, 1 1)", 1); err == nil {
		t.Fatal("dwithin accepted a line")
	}
}

// TestMayMatchSound checks the pruning test never rejects a matching row.
func TestMayMatchSound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]byte, 3000)
	for i := range rows {
		x, y := r.Float64()*40-20+float64(i%3)*50, r.Float64()*160-80
		var wkt string
		switch i % 3 {
		case 0:
			wkt = pointWKT(x, y)
		case 1:
			wkt = "LINESTRING(" + xy(x, y) + ", " + xy(x+r.Float64(), y+r.Float64()) + ")"
		default:
			d := r.Float64() * 2
			wkt = "POLYGON((" + xy(x, y) + ", " + xy(x+d, y) + ", " + xy(x+d, y+d) + ", " + xy(x, y+d) + ", " + xy(x, y) + "))"
		}
		rows[i], _ = WKTToWKB(wkt)
	}
	x0, y0, x1, y1, _ := Envelope(rows[2])
	inside := pointWKT((x0+x1)/2, (y0+y1)/2)
	queries := []struct {
		op   Op
		wkt  string
		dist float64
	}{
		{Intersects, "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))", 0},
		{Within, "POLYGON((-20 -80, 20 -80, 20 80, -20 80, -20 -80))", 0},
		{Contains, inside, 0},
		{Touches, "POLYGON((" + xy(x0, y0) + ", " + xy(x0-1, y0) + ", " + xy(x0-1, y0-1) + ", " + xy(x0, y0) + "))", 0},
		{DWithin, "POINT(0 0)", 500000},
		{DWithin, "POINT(5 75)", 900000},
		{DWithin, "POINT(50 -40)", 1000000},
	}
	for _, q := range queries {
		p, err := NewPredicate(q.op, q.wkt, q.dist)
		if err != nil {
			t.Fatal(err)
		}
		matched := 0
		for _, row := range rows {
			if !p.Match(row) {
				continue
			}
			matched++
			x0, y0, x1, y1, ok := Envelope(row)
			if !ok || !p.MayMatch(x0, y0, x1, y1) {
				t.Fatalf("%s %s: a matching row is pruned", q.op, q.wkt)
			}
		}
		if matched == 0 {
			t.Fatalf("%s %s matches nothing: a weak case", q.op, q.wkt)
		}
	}
}

func xy(x, y float64) string { return ftoa(x) + " " + ftoa(y) }

func pointWKT(x, y float64) string { return "POINT(" + xy(x, y) + ")" }

func ftoa(f float64) string { return strings.TrimRight(strings.TrimRight(sprintf(f), "0"), ".") }

func sprintf(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }
