package expr

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/geometry"
)

// geoShape is a row of the oracle: a point (x0 == x1, y0 == y1) or an
// axis-aligned rectangle with integer corners, whose relations to another
// rectangle can be decided by comparing coordinates.
type geoShape struct {
	point          bool
	x0, y0, x1, y1 float64
	null           bool
}

func (s geoShape) wkt() string {
	if s.point {
		return fmt.Sprintf("POINT(%g %g)", s.x0, s.y0)
	}
	return fmt.Sprintf("POLYGON((%g %g, %g %g, %g %g, %g %g, %g %g))", s.x0, s.y0, s.x1, s.y0, s.x1, s.y1, s.x0, s.y1, s.x0, s.y0)
}

func geoSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "g", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "geo", DataType: schemapb.DataType_Geometry, Nullable: true},
		{FieldID: 102, Name: "n", DataType: schemapb.DataType_Int64},
	}}
}

// TestGeoOracle compares the spatial predicates with their definitions
// evaluated on coordinates (points and rectangles against a rectangle, and
// great-circle distances for ST_DWITHIN).
func TestGeoOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 600
	shapes := make([]geoShape, n)
	col := &column.Scalar[[]byte]{Type: schemapb.DataType_Geometry, Data: make([][]byte, n), Valid: make([]bool, n)}
	for i := range shapes {
		s := geoShape{point: i%2 == 0}
		s.x0, s.y0 = float64(r.IntN(10)), float64(r.IntN(10))
		s.x1, s.y1 = s.x0, s.y0
		if !s.point {
			s.x1, s.y1 = s.x0+float64(1+r.IntN(6)), s.y0+float64(1+r.IntN(6))
		}
		s.null = r.IntN(12) == 0
		shapes[i] = s
		b, err := geometry.WKTToWKB(s.wkt())
		if err != nil {
			t.Fatal(err)
		}
		col.Data[i], col.Valid[i] = b, !s.null
	}
	// Two rows equal to the query rectangle, so ST_EQUALS has answers.
	for _, i := range []int{1, 3} {
		shapes[i] = geoShape{x0: 2, y0: 3, x1: 6, y1: 7}
		col.Data[i], _ = geometry.WKTToWKB(shapes[i].wkt())
		col.Valid[i] = true
	}
	b := &memBatch{n: n, cols: map[int64]column.Column{101: col}}
	const qx0, qy0, qx1, qy1 = 2.0, 3.0, 6.0, 7.0
	q := geoShape{x0: qx0, y0: qy0, x1: qx1, y1: qy1}.wkt()

	inOpen := func(v, lo, hi float64) bool { return lo < v && v < hi }
	inClosed := func(v, lo, hi float64) bool { return lo <= v && v <= hi }
	closedMeet := func(s geoShape) bool { return s.x0 <= qx1 && qx0 <= s.x1 && s.y0 <= qy1 && qy0 <= s.y1 }
	openMeet := func(s geoShape) bool { return s.x0 < qx1 && qx0 < s.x1 && s.y0 < qy1 && qy0 < s.y1 }
	inside := func(s geoShape) bool { return qx0 <= s.x0 && s.x1 <= qx1 && qy0 <= s.y0 && s.y1 <= qy1 }
	covers := func(s geoShape) bool { return s.x0 <= qx0 && qx1 <= s.x1 && s.y0 <= qy0 && qy1 <= s.y1 }
	cases := []struct {
		filter string
		want   func(s geoShape) bool
	}{
		{"ST_INTERSECTS(geo, '" + q + "')", func(s geoShape) bool {
			if s.point {
				return inClosed(s.x0, qx0, qx1) && inClosed(s.y0, qy0, qy1)
			}
			return closedMeet(s)
		}},
		{"st_within(geo, '" + q + "')", func(s geoShape) bool {
			if s.point {
				return inOpen(s.x0, qx0, qx1) && inOpen(s.y0, qy0, qy1)
			}
			return inside(s)
		}},
		{"ST_CONTAINS(geo, '" + q + "')", func(s geoShape) bool { return !s.point && covers(s) }},
		{"ST_TOUCHES(geo, '" + q + "')", func(s geoShape) bool {
			if s.point {
				return inClosed(s.x0, qx0, qx1) && inClosed(s.y0, qy0, qy1) && !(inOpen(s.x0, qx0, qx1) && inOpen(s.y0, qy0, qy1))
			}
			return closedMeet(s) && !openMeet(s)
		}},
		{"ST_OVERLAPS(geo, '" + q + "')", func(s geoShape) bool { return !s.point && openMeet(s) && !inside(s) && !covers(s) }},
		{"ST_EQUALS(geo, '" + q + "')", func(s geoShape) bool { return !s.point && s.x0 == qx0 && s.y0 == qy0 && s.x1 == qx1 && s.y1 == qy1 }},
		{"ST_CROSSES(geo, '" + q + "')", func(s geoShape) bool { return false }},
		{"ST_DWITHIN(geo, 'POINT(4 5)', 250000)", func(s geoShape) bool {
			if !s.point {
				return geometry.Haversine(0, 0, 0, 0) == 0 && polyDegrees(s, 4, 5)*metersPerDegreeAt(5) <= 250000
			}
			return haversineRef(s.y0, s.x0, 5, 4) <= 250000
		}},
		{"ST_WITHIN(geo, '" + q + "') and not ST_EQUALS(geo, '" + q + "')", func(s geoShape) bool {
			if s.point {
				return inOpen(s.x0, qx0, qx1) && inOpen(s.y0, qy0, qy1)
			}
			return inside(s) && !(s.x0 == qx0 && s.y0 == qy0 && s.x1 == qx1 && s.y1 == qy1)
		}},
	}
	for _, tc := range cases {
		e, err := Parse(geoSchema(), tc.filter, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		// Through the wire form, as query nodes get it.
		wire, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if e, err = Unmarshal(geoSchema(), wire); err != nil {
			t.Fatalf("%s: unmarshal %s: %v", tc.filter, wire, err)
		}
		got, err := e.Eval(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		// With a spatial index the result is the scan's.
		ib := &indexedBatch{memBatch: b, col: col}
		viaIndex, err := e.Eval(context.Background(), ib)
		if err != nil {
			t.Fatal(err)
		}
		if ib.calls == 0 {
			t.Fatalf("%s: the spatial index was not asked", tc.filter)
		}
		for i := range n {
			if viaIndex.Test(i) != got.Test(i) {
				t.Fatalf("%s: row %d: %v with the index, %v by scan", tc.filter, i, viaIndex.Test(i), got.Test(i))
			}
		}
		matches := 0
		for i, s := range shapes {
			want := !s.null && tc.want(s)
			if got.Test(i) != want {
				t.Fatalf("%s: row %d %s (null %v): got %v", tc.filter, i, s.wkt(), s.null, got.Test(i))
			}
			if want {
				matches++
			}
		}
		if strings.Contains(tc.filter, "CROSSES") {
			continue
		}
		if matches == 0 || matches == n {
			t.Fatalf("%s: %d of %d match: a weak case", tc.filter, matches, n)
		}
	}
}

// haversineRef is the great-circle distance in meters, written out
// independently of the geometry package.
func haversineRef(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	a := math.Pow(math.Sin((lat2-lat1)*rad/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin((lon2-lon1)*rad/2), 2)
	return 2 * 6371000 * math.Asin(math.Sqrt(a))
}

// polyDegrees is the planar distance from (x, y) to a rectangle.
func polyDegrees(s geoShape, x, y float64) float64 {
	dx := math.Max(0, math.Max(s.x0-x, x-s.x1))
	dy := math.Max(0, math.Max(s.y0-y, y-s.y1))
	return math.Hypot(dx, dy)
}

// metersPerDegreeAt is Milvus's degrees-to-meters factor at a latitude.
func metersPerDegreeAt(lat float64) float64 {
	c := math.Cos(lat * math.Pi / 180)
	return 111320 * math.Sqrt((1+c*c)/2)
}

func TestGeoErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := Parse(geoSchema(), text, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: error %v, want %q", text, err, want)
		}
	}
	f(`ST_EQUALS(n, 'POINT(1 1)')`, "STEuqals operation are only supported on geometry fields now, got: ST_EQUALS(n,'POINT(1 1)')")
	f(`ST_DWITHIN(n, 'POINT(1 1)', 5)`, "ST_DWITHIN operation are only supported on geometry fields now")
	f(`ST_INTERSECTS(geo, 'POINT(1)')`, "cannot parse expression")
	f(`ST_DWITHIN(geo, 'LINESTRING(0 0, 1 1)', 5)`, "only supports POINT geometry: LINESTRING(0 0, 1 1)")
	f(`ST_DWITHIN(geo, 'POINT(0 0)', -1)`, "distance parameter must be non-negative")
	f(`ST_DWITHIN(geo, 'POINT(0 0)', n)`, "distance parameter must be a constant numeric value")
	f(`ST_WITHIN(geo, 5)`, "WKT string")
}

// indexedBatch answers SpatialCandidates by testing every valid row's
// bounding box, as an R-tree does.
type indexedBatch struct {
	*memBatch
	col   *column.Scalar[[]byte]
	calls int
}

func (b *indexedBatch) SpatialCandidates(fieldID int64, minX, minY, maxX, maxY float64) (*bitset.Set, bool) {
	b.calls++
	out := bitset.New(b.n)
	for i, row := range b.col.Data {
		x0, y0, x1, y1, ok := geometry.Envelope(row)
		if ok && b.col.Valid[i] && x0 <= maxX && minX <= x1 && y0 <= maxY && minY <= y1 {
			out.Set(i)
		}
	}
	return out, true
}
