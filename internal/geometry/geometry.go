// Package geometry implements Milvus's Geometry data type: values travel as
// WKT text (geometry_wkt_data) or WKB (geometry_data), are stored as
// little-endian WKB, and are filtered with the spatial predicates of
// Milvus's filter language (ST_EQUALS, ST_TOUCHES, ST_OVERLAPS, ST_CROSSES,
// ST_CONTAINS, ST_INTERSECTS, ST_WITHIN, ST_DWITHIN).
//
// WKT and WKB conversion uses github.com/twpayne/go-geom, the library
// Milvus's proxy uses (pkg/common ConvertWKTToWKB/ConvertWKBToWKT), so the
// accepted text and the WKT Milvago outputs are Milvus's byte for byte. The
// predicates use github.com/peterstace/simplefeatures, a pure-Go DE-9IM
// implementation with the OGC semantics of GEOS, which Milvus's segcore
// calls; see docs/architecture.md ("Geometry").
package geometry

import (
	"errors"
	"fmt"
	"math"

	sf "github.com/peterstace/simplefeatures/geom"
	gg "github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkb"
	"github.com/twpayne/go-geom/encoding/wkbcommon"
	"github.com/twpayne/go-geom/encoding/wkt"
)

// WKTToWKB parses WKT text into little-endian WKB, as Milvus's proxy does
// on insert (empty points become NaN coordinates).
func WKTToWKB(text string) ([]byte, error) {
	g, err := wkt.Unmarshal(text)
	if err != nil {
		return nil, err
	}
	return wkb.Marshal(g, wkb.NDR, wkbcommon.WKBOptionEmptyPointHandling(wkbcommon.EmptyPointHandlingNaN))
}

// WKBToWKT renders WKB as WKT text, as Milvus outputs query and search
// results (for example "POINT (1 2)").
func WKBToWKT(b []byte) (string, error) {
	g, err := wkb.Unmarshal(b, wkbcommon.WKBOptionEmptyPointHandling(wkbcommon.EmptyPointHandlingNaN))
	if err != nil {
		return "", err
	}
	return wkt.Marshal(g)
}

// CheckWKB reports whether b is WKB this package can read and returns it
// in little-endian form (WKB sent big-endian is re-encoded).
func CheckWKB(b []byte) ([]byte, error) {
	g, err := wkb.Unmarshal(b, wkbcommon.WKBOptionEmptyPointHandling(wkbcommon.EmptyPointHandlingNaN))
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[0] == 1 { // already NDR
		return b, nil
	}
	return wkb.Marshal(g, wkb.NDR, wkbcommon.WKBOptionEmptyPointHandling(wkbcommon.EmptyPointHandlingNaN))
}

// CheckWKT parses WKT as Milvus's expression parser does (checkValidWKT).
func CheckWKT(text string) error {
	_, err := wkt.Unmarshal(text)
	return err
}

// IsPoint reports whether text is WKT of a POINT (checkValidPoint).
func IsPoint(text string) error {
	g, err := wkt.Unmarshal(text)
	if err != nil {
		return err
	}
	if _, ok := g.(*gg.Point); !ok {
		return fmt.Errorf("only supports POINT geometry: %s", text)
	}
	return nil
}

// Op is a spatial predicate.
type Op uint8

// The predicates of Milvus's filter language, in planpb.GISFunctionFilterExpr order.
const (
	Equals Op = iota
	Touches
	Overlaps
	Crosses
	Contains
	Intersects
	Within
	DWithin
)

var opNames = [...]string{"st_equals", "st_touches", "st_overlaps", "st_crosses", "st_contains", "st_intersects", "st_within", "st_dwithin"}

// String is the function's name in the filter language.
func (o Op) String() string { return opNames[o] }

// OpByName returns the predicate a (lower-case) function name names.
func OpByName(name string) (Op, bool) {
	for i, n := range opNames {
		if n == name {
			return Op(i), true
		}
	}
	return 0, false
}

// Predicate is `row OP query` for one query geometry, prepared once and
// evaluated on many rows; safe for concurrent use.
type Predicate struct {
	op       Op
	query    sf.Geometry
	env      sf.Envelope // the query's envelope, widened by the distance for DWithin
	distance float64     // DWithin: meters
	qx, qy   float64     // DWithin: the query point (lon, lat)
}

// NewPredicate prepares `row OP wkt`. For DWithin the query must be a
// POINT (lon lat) and distance is in meters, as in Milvus.
func NewPredicate(op Op, text string, distance float64) (*Predicate, error) {
	wkbQuery, err := WKTToWKB(text)
	if err != nil {
		return nil, err
	}
	q, err := sf.UnmarshalWKB(wkbQuery, sf.NoValidate{})
	if err != nil {
		return nil, err
	}
	p := &Predicate{op: op, query: q, env: q.Envelope(), distance: distance}
	if op == DWithin {
		pt, ok := q.AsPoint()
		xy, nonEmpty := pt.XY()
		if !ok || !nonEmpty {
			return nil, fmt.Errorf("only supports POINT geometry: %s", text)
		}
		p.qx, p.qy = xy.X, xy.Y
		p.env = dwithinBox(p.qx, p.qy, distance)
	}
	return p, nil
}

// MayMatch reports whether a row whose envelope is (minX, minY, maxX, maxY)
// can satisfy the predicate: false only when it certainly cannot (every
// predicate but DWithin needs the row to touch the query's envelope;
// DWithin needs it to touch dwithinBox). It is the R-tree's pruning test.
func (p *Predicate) MayMatch(minX, minY, maxX, maxY float64) bool {
	if p.env.IsEmpty() {
		return true // an empty query: leave it to Match
	}
	row := sf.NewEnvelope(sf.XY{X: minX, Y: minY}, sf.XY{X: maxX, Y: maxY})
	return row.Intersects(p.env)
}

// QueryBox is the query's envelope (widened for DWithin) and whether it has one.
func (p *Predicate) QueryBox() (minX, minY, maxX, maxY float64, ok bool) {
	lo, hi, ok := p.env.MinMaxXYs()
	return lo.X, lo.Y, hi.X, hi.Y, ok
}

// Envelope returns the bounding box of a WKB row, ok false when it is empty.
func Envelope(row []byte) (minX, minY, maxX, maxY float64, ok bool) {
	g, err := sf.UnmarshalWKB(row, sf.NoValidate{})
	if err != nil {
		return 0, 0, 0, 0, false
	}
	lo, hi, ok := g.Envelope().MinMaxXYs()
	return lo.X, lo.Y, hi.X, hi.Y, ok
}

// Match evaluates the predicate on one WKB row. A row that cannot be
// decoded, or on which the predicate cannot be computed, does not match
// (Milvus's segcore answers false for invalid geometries).
func (p *Predicate) Match(row []byte) bool {
	g, err := sf.UnmarshalWKB(row, sf.NoValidate{})
	if err != nil {
		return false
	}
	var ok bool
	switch p.op {
	case Equals:
		ok, err = sf.Equals(g, p.query)
	case Touches:
		ok, err = sf.Touches(g, p.query)
	case Overlaps:
		ok, err = sf.Overlaps(g, p.query)
	case Crosses:
		ok, err = sf.Crosses(g, p.query)
	case Contains:
		ok, err = sf.Contains(g, p.query)
	case Intersects:
		ok = sf.Intersects(g, p.query)
	case Within:
		ok, err = sf.Within(g, p.query)
	case DWithin:
		ok = p.dwithin(g)
	default:
		err = errors.New("unknown predicate")
	}
	return err == nil && ok
}

const (
	metersPerDegreeLat = 111320.0
	earthRadius        = 6371000.0
)

// dwithinBox bounds every row ST_DWITHIN(row, POINT(x y), d) can accept:
// a point row within d meters by haversine, or any row within d meters by
// planar degrees scaled at the query's latitude (at least 111320/sqrt(2)
// meters a degree). Near a pole or the antimeridian the box is the world.
func dwithinBox(x, y, d float64) sf.Envelope {
	world := sf.NewEnvelope(sf.XY{X: -math.MaxFloat64, Y: -math.MaxFloat64}, sf.XY{X: math.MaxFloat64, Y: math.MaxFloat64})
	planar := d * math.Sqrt2 / metersPerDegreeLat
	ang := d / earthRadius // central angle
	if ang >= math.Pi/2 {
		return world
	}
	latOff := max(ang*180/math.Pi, planar) * 1.001
	m := math.Abs(y) + latOff // the largest |latitude| a matching point can have
	if m >= 89 {
		return world
	}
	// hav(d/R) >= cos(lat1) cos(lat2) hav(dlon) >= cos^2(m) hav(dlon).
	h := math.Sin(ang/2) / math.Cos(m*math.Pi/180)
	if h >= 1 {
		return world
	}
	lonOff := max(2*math.Asin(h)*180/math.Pi, planar) * 1.001
	if x-lonOff < -180 || x+lonOff > 180 {
		return world
	}
	return sf.NewEnvelope(sf.XY{X: x - lonOff, Y: y - latOff}, sf.XY{X: x + lonOff, Y: y + latOff})
}

// dwithin is Milvus's Geometry::dwithin: a point row is compared by its
// great-circle (haversine) distance in meters; any other row by its planar
// distance in degrees, converted to meters at the query point's latitude.
func (p *Predicate) dwithin(g sf.Geometry) bool {
	if pt, ok := g.AsPoint(); ok {
		xy, nonEmpty := pt.XY()
		if !nonEmpty {
			return false
		}
		return Haversine(xy.Y, xy.X, p.qy, p.qx) <= p.distance
	}
	d, ok := sf.Distance(g, p.query)
	if !ok {
		return false
	}
	latRad := p.qy * math.Pi / 180
	perDegree := metersPerDegreeLat * math.Sqrt((1+math.Cos(latRad)*math.Cos(latRad))/2)
	return d*perDegree <= p.distance
}

// Haversine is the great-circle distance in meters between two (lat, lon)
// points in degrees on a sphere of radius 6,371,000 m.
func Haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return earthRadius * 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
}
