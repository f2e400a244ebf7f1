package scalarindex

import (
	"context"
	"strings"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
)

// The JSON flat index: INVERTED with json_cast_type JSON (Milvus 2.6's
// JsonFlatIndex). It indexes every scalar under json_path (the whole field
// when empty), by relative path and value: for each path seen, up to
// three sorted key lists (bools, numbers, strings) with their postings. A
// filter on any path below json_path reads it through Sub; a path with a
// decimal key (maybe an array index) is not served, as in Milvus.

// CastJSON is the json_cast_type of the flat index.
const CastJSON = "JSON"

// flatPath is the flat index's keys at one relative path, by kind.
type flatPath struct {
	byKind [expr.KeyString + 1]*Index
}

// flatKey is the map key of a relative path: its JSON Pointer.
func flatKey(rel []string) string {
	if len(rel) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range rel {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// Flat reports a JSON flat index.
func (x *Index) Flat() bool { return x.cast == CastJSON }

// FlatPaths is the number of distinct paths a flat index holds.
func (x *Index) FlatPaths() int { return len(x.flat) }

// Sub is the flat index's view of the path rel below its json_path, or
// nil when it cannot serve it (not a flat index, a decimal key).
func (x *Index) Sub(rel []string) expr.ScalarIndex {
	if !x.Flat() || x.flat == nil || !expr.FlatPathUsable(rel) {
		// x.flat is nil in a flat index written before Milvago built
		// them (format version 1: a definition without keys).
		return nil
	}
	p := x.flat[flatKey(rel)]
	if p == nil {
		p = &flatPath{} // no row has a scalar there: every lookup is empty
	}
	return &flatView{p: p}
}

// flatNode is a path of the flat index being built: its keys' builders
// and its children by key.
type flatNode struct {
	b    [expr.KeyString + 1]builder
	kids map[string]*flatNode
}

func (x *Index) buildFlat(ctx context.Context, c *column.Scalar[[]byte]) error {
	x.kind = expr.KeyNone
	root := &flatNode{}
	for row, doc := range c.Data {
		if row&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !valid(c.Valid, row) {
			continue
		}
		expr.JSONWalk(doc, x.path, func(rel []string, kind expr.KeyKind, i int64, f float64, s string) {
			n := root
			for _, k := range rel {
				next := n.kids[k]
				if next == nil {
					if n.kids == nil {
						n.kids = map[string]*flatNode{}
					}
					next = &flatNode{}
					n.kids[strings.Clone(k)] = next // k may point into doc
				}
				n = next
			}
			switch kind {
			case expr.KeyBool:
				n.b[kind].addInt(i, row)
			case expr.KeyFloat:
				n.b[kind].addFloat(f, row)
			case expr.KeyString:
				n.b[kind].addString(s, row)
			}
		})
	}
	x.flat = map[string]*flatPath{}
	var walk func(n *flatNode, rel []string)
	walk = func(n *flatNode, rel []string) {
		fp := &flatPath{}
		has := false
		for k := expr.KeyBool; k <= expr.KeyString; k++ {
			b := &n.b[k]
			if len(b.ints)+len(b.floats)+len(b.strs) == 0 {
				continue
			}
			sub := &Index{typ: TypeInverted, kind: k, n: x.n}
			b.finish(sub)
			*b = builder{}
			fp.byKind[k] = sub
			has = true
		}
		if has {
			x.flat[flatKey(rel)] = fp
		}
		for k, kid := range n.kids {
			walk(kid, append(rel, k))
		}
	}
	walk(root, nil)
	return nil
}

// flatView is one path of a flat index as the filter engine reads it.
type flatView struct{ p *flatPath }

func (v *flatView) sub(lo, hi expr.Bound) *Index {
	k := lo.Kind
	if k == expr.KeyNone {
		k = hi.Kind
	}
	if k < expr.KeyBool || k > expr.KeyString || hi.Kind != k && hi.Kind != expr.KeyNone {
		return nil
	}
	return v.p.byKind[k]
}

func (v *flatView) KeyKind() expr.KeyKind { return expr.KeyAny }
func (v *flatView) Elements() bool        { return false }
func (v *flatView) Grams() bool           { return false }

func (v *flatView) Count(lo, hi expr.Bound) int {
	if s := v.sub(lo, hi); s != nil {
		return s.Count(lo, hi)
	}
	return 0
}

func (v *flatView) Rows(lo, hi expr.Bound, out *bitset.Set) {
	if s := v.sub(lo, hi); s != nil {
		s.Rows(lo, hi, out)
	}
}

func (v *flatView) CountPrefix(p string) int {
	if s := v.p.byKind[expr.KeyString]; s != nil {
		return s.CountPrefix(p)
	}
	return 0
}

func (v *flatView) RowsPrefix(p string, out *bitset.Set) {
	if s := v.p.byKind[expr.KeyString]; s != nil {
		s.RowsPrefix(p, out)
	}
}

func (v *flatView) NgramRows([]string, *bitset.Set) bool { return false }
