package expr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/geometry"
)

// Spatial predicates on Geometry fields (Milvus's GISFunctionFilterExpr):
// ST_EQUALS(g, 'WKT'), ST_TOUCHES, ST_OVERLAPS, ST_CROSSES, ST_CONTAINS,
// ST_INTERSECTS, ST_WITHIN, and ST_DWITHIN(g, 'POINT(lon lat)', meters).
// Each is `row OP query`; a null row is null (never selected).

// geoNode is one spatial predicate.
type geoNode struct {
	f    fieldRef
	op   geometry.Op
	wkt  string
	dist float64
	pred *geometry.Predicate
}

// milvusGeoName is the name Milvus's parser uses in its errors (typo included).
var milvusGeoName = map[geometry.Op]string{
	geometry.Equals: "STEuqals", geometry.Touches: "STTouches", geometry.Overlaps: "STOverlaps",
	geometry.Crosses: "STCrosses", geometry.Contains: "STContains", geometry.Intersects: "STIntersects",
	geometry.Within: "STWithin", geometry.DWithin: "ST_DWITHIN",
}

// geoCall checks a spatial function call; ok is false when name is not one.
func (c *checker) geoCall(a *ast) (operand, bool, error) {
	op, ok := geometry.OpByName(a.text)
	if !ok {
		return operand{}, false, nil
	}
	text := tokenText(c.src(a))
	want := 2
	if op == geometry.DWithin {
		want = 3
	}
	if len(a.kids) != want {
		return operand{}, true, errAt(a.pos, "%s takes %d arguments, got %d", a.text, want, len(a.kids))
	}
	if a.kids[0].kind != aIdent {
		return operand{}, true, errAt(a.kids[0].pos, "%s operation are only supported on geometry fields now, got: %s", milvusGeoName[op], text)
	}
	f, err := c.resolve(a.kids[0])
	if err != nil {
		return operand{}, true, err
	}
	if f.Type != schemapb.DataType_Geometry || len(f.Path) > 0 {
		return operand{}, true, errAt(a.pos, "%s operation are only supported on geometry fields now, got: %s", milvusGeoName[op], text)
	}
	w, err := c.check(a.kids[1])
	if err != nil {
		return operand{}, true, err
	}
	if w.kind != oConst || w.v.kind != vString {
		return operand{}, true, errAt(a.kids[1].pos, "WKT string must be a string literal or a template variable, got: %s", c.src(a.kids[1]))
	}
	n := &geoNode{f: f, op: op, wkt: w.v.s}
	if op == geometry.DWithin {
		if err := geometry.IsPoint(n.wkt); err != nil {
			return operand{}, true, errAt(a.kids[1].pos, "%v", err)
		}
		d, err := c.check(a.kids[2])
		if err != nil {
			return operand{}, true, err
		}
		if d.kind != oConst {
			return operand{}, true, errAt(a.kids[2].pos, "distance parameter must be a constant numeric value, got: %s", c.src(a.kids[2]))
		}
		if !d.v.isNum() {
			return operand{}, true, errAt(a.kids[2].pos, "distance parameter must be a numeric value (int or float), got: %s", c.src(a.kids[2]))
		}
		n.dist = d.v.num()
		if n.dist < 0 {
			return operand{}, true, errAt(a.kids[2].pos, "distance parameter must be non-negative, got: %f", n.dist)
		}
	} else if err := geometry.CheckWKT(n.wkt); err != nil {
		return operand{}, true, errAt(a.kids[1].pos, "%v", err)
	}
	if n.pred, err = geometry.NewPredicate(op, n.wkt, n.dist); err != nil {
		return operand{}, true, errAt(a.kids[1].pos, "%v", err)
	}
	return operand{kind: oBool, n: n, pos: a.pos}, true, nil
}

func (n *geoNode) fields(add func(int64)) { add(n.f.ID) }

func (n *geoNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "%s(%s, %s", n.op, n.f, quote(n.wkt))
	if n.op == geometry.DWithin {
		b.WriteString(", " + strconv.FormatFloat(n.dist, 'g', -1, 64))
		if !strings.ContainsAny(strconv.FormatFloat(n.dist, 'g', -1, 64), ".eE") {
			b.WriteString(".0") // keep it a float when re-parsed
		}
	}
	b.WriteByte(')')
}

func (n *geoNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	s, ok := c.(*column.Scalar[[]byte])
	if !ok {
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
	}
	res := bitset.New(ec.n)
	test := func(i int) {
		if (s.Valid == nil || s.Valid[i]) && n.pred.Match(s.Data[i]) {
			res.Set(i)
		}
	}
	if idx, ok := ec.batch.(SpatialIndex); ok {
		if x0, y0, x1, y1, ok := n.pred.QueryBox(); ok {
			if cands, ok := idx.SpatialCandidates(n.f.ID, x0, y0, x1, y1); ok {
				if err := ec.ctx.Err(); err != nil {
					return nil, nil, err
				}
				cands.ForEach(func(i int) {
					if i < len(s.Data) {
						test(i)
					}
				})
				return finish(res, c, ec.n)
			}
		}
	}
	for i := range s.Data {
		if i&1023 == 0 {
			if err := ec.ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		test(i)
	}
	return finish(res, c, ec.n)
}

// SpatialIndex is optionally implemented by the column.Batch a filter is
// evaluated on (a sealed segment's R-tree): the rows of a Geometry field
// whose bounding box meets the given box, a superset of the rows any
// spatial predicate with that query box can match. ok false: scan.
type SpatialIndex interface {
	SpatialCandidates(fieldID int64, minX, minY, maxX, maxY float64) (rows *bitset.Set, ok bool)
}

// tokenText is ANTLR's GetText of source text: its tokens without the
// spaces between them (spaces inside string literals stay).
func tokenText(src string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(src); i++ {
		ch := src[i]
		switch {
		case quote != 0:
			b.WriteByte(ch)
			if ch == '\\' && i+1 < len(src) {
				i++
				b.WriteByte(src[i])
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
			b.WriteByte(ch)
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
