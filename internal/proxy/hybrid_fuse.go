package proxy

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/rerank"
	"github.com/milvago/milvago/internal/timestamptz"
)

// rankedSource is one search's reduced result as the rerankers read it:
// its hits per query, and its field and group-by columns to copy rows from.
type rankedSource struct {
	data   *schemapb.SearchResultData
	metric string
	starts []int                 // start of each query's hits; len NQ+1
	fds    []*schemapb.FieldData // data's fields, struct arrays unfolded into their sub-fields
	fields []column.Column       // fds as columns
	group  column.Column
}

func newRankedSource(data *schemapb.SearchResultData, metric string, nq int) (*rankedSource, error) {
	src := &rankedSource{data: data, metric: metric, starts: make([]int, nq+1)}
	topks := data.GetTopks()
	for q := range nq {
		n := 0
		if q < len(topks) {
			n = int(topks[q])
		}
		src.starts[q+1] = src.starts[q] + n
	}
	src.fds = unfoldStructArrays(data.GetFieldsData())
	for _, fd := range src.fds {
		col, err := column.FromFieldData(fd)
		if err != nil {
			return nil, fmt.Errorf("rerank: read field %s of a search result: %w", fd.GetFieldName(), err)
		}
		src.fields = append(src.fields, col)
	}
	if g := data.GetGroupByFieldValue(); g != nil {
		col, err := column.FromFieldData(g)
		if err != nil {
			return nil, fmt.Errorf("rerank: read group-by values of a search result: %w", err)
		}
		src.group = col
	}
	return src, nil
}

// list is the hits of query q; valueField names the field whose values
// the reranker reads ("" for none).
func (s *rankedSource) list(q int, valueField string) rerank.List {
	lo, hi := s.starts[q], s.starts[q+1]
	l := rerank.List{Metric: s.metric, Hits: make([]rerank.Hit, 0, hi-lo)}
	var values column.Column
	if valueField != "" {
		for i, fd := range s.fds {
			if fd.GetFieldName() == valueField {
				values = s.fields[i]
			}
		}
	}
	ints, strs := s.data.GetIds().GetIntId().GetData(), s.data.GetIds().GetStrId().GetData()
	for i := lo; i < hi; i++ {
		h := rerank.Hit{Score: s.data.GetScores()[i]}
		if strs != nil {
			h.PK.Str = strs[i]
		} else {
			h.PK.Int = ints[i]
		}
		if s.group != nil {
			h.Group = columnValue(s.group, i)
		}
		if values != nil {
			h.Value = numericValue(values, i)
			if str, ok := values.(*column.Scalar[string]); ok && str.Type != schemapb.DataType_Timestamptz && !str.IsNull(i) {
				h.Text = str.Data[i]
			}
		}
		l.Hits = append(l.Hits, h)
	}
	return l
}

// columnValue is row i of a scalar column as a comparable group value
// (integers as int64), nil when null.
func columnValue(c column.Column, i int) any {
	if c.IsNull(i) {
		return nil
	}
	switch s := c.(type) {
	case *column.Scalar[bool]:
		return s.Data[i]
	case *column.Scalar[int8]:
		return int64(s.Data[i])
	case *column.Scalar[int16]:
		return int64(s.Data[i])
	case *column.Scalar[int32]:
		return int64(s.Data[i])
	case *column.Scalar[int64]:
		return s.Data[i]
	case *column.Scalar[string]:
		return s.Data[i]
	}
	return nil
}

// numericValue is row i of a numeric column, for the decay reranker (0
// for other columns: the model reranker's text input is not scored here,
// and decay accepts numeric inputs only).
func numericValue(c column.Column, i int) float64 {
	switch s := c.(type) {
	case *column.Scalar[int8]:
		return float64(s.Data[i])
	case *column.Scalar[int16]:
		return float64(s.Data[i])
	case *column.Scalar[int32]:
		return float64(s.Data[i])
	case *column.Scalar[int64]:
		return float64(s.Data[i])
	case *column.Scalar[float32]:
		return float64(s.Data[i])
	case *column.Scalar[float64]:
		return s.Data[i]
	case *column.Scalar[string]:
		// A Timestamptz column the search already formatted (ISO text with
		// its offset): decay reads microseconds, as Milvus does.
		if s.Type == schemapb.DataType_Timestamptz {
			if us, err := timestamptz.Parse(s.Data[i], "UTC"); err == nil {
				return float64(us)
			}
		}
	}
	return 0
}

// fuseResults ranks each query's hits of srcs with rr and assembles the
// fused SearchResultData: ids, scores, the fields of each hit copied from
// the result where the hit was first seen (dropFields left out: the
// reranker's inputs the user did not ask for), and group-by values.
func fuseResults(ctx context.Context, schema *schemapb.CollectionSchema, srcs []*rankedSource, rr rerank.Reranker, p rerank.Params, nq int,
	dropFields map[string]bool, groupField *schemapb.FieldSchema) (*schemapb.SearchResultData, error) {
	valueField := ""
	if in := rr.InputFields(); len(in) > 0 {
		valueField = in[0]
	}
	type pick struct {
		rerank.Ranked
		row int // the hit's row in srcs[List]
	}
	var picks []pick
	topks := make([]int64, nq)
	for q := range nq {
		lists := make([]rerank.List, len(srcs))
		for i, s := range srcs {
			lists[i] = s.list(q, valueField)
		}
		p.Query = q
		r, err := rr.Rank(ctx, lists, p)
		if err != nil {
			return nil, err
		}
		topks[q] = int64(len(r))
		for _, h := range r {
			picks = append(picks, pick{h, srcs[h.List].starts[q] + h.Pos})
		}
	}

	// The output columns: those of the first result that has fields.
	var tmpl *rankedSource
	for _, s := range srcs {
		if len(s.fds) > 0 {
			tmpl = s
			break
		}
	}
	fields := []*schemapb.FieldData{}
	if tmpl != nil {
		for fi, fd := range tmpl.fds {
			if dropFields[fd.GetFieldName()] {
				continue
			}
			out := tmpl.fields[fi].Empty()
			for _, h := range picks {
				col := srcs[h.List].fieldNamed(fd.GetFieldName())
				if col == nil {
					return nil, errPlain("rerank: field %s missing from a sub-search result", fd.GetFieldName())
				}
				out.Append(col.Slice(h.row, h.row+1))
			}
			fields = append(fields, fieldDataLike(schema, fd, out))
		}
		fields = foldStructArrays(schema, fields)
	}

	pk := primaryField(schema)
	var ids *schemapb.IDs
	scores := make([]float32, len(picks))
	if pk.GetDataType() == schemapb.DataType_VarChar {
		keys := make([]string, len(picks))
		for i, h := range picks {
			keys[i], scores[i] = h.PK.Str, h.Score
		}
		ids = &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: keys}}}
	} else {
		keys := make([]int64, len(picks))
		for i, h := range picks {
			keys[i], scores[i] = h.PK.Int, h.Score
		}
		ids = &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: keys}}}
	}
	data := newSearchResultData(nq, p.Limit, topks, ids, scores, fields, nil, pk.GetName())
	if p.Grouping && groupField != nil {
		var out column.Column
		for _, s := range srcs {
			if s.group != nil {
				out = s.group.Empty()
				break
			}
		}
		if out != nil {
			for _, h := range picks {
				g := srcs[h.List].group
				if g == nil {
					return nil, errPlain("rerank: group-by values missing from a sub-search result")
				}
				out.Append(g.Slice(h.row, h.row+1))
			}
			data.GroupByFieldValue = column.ToFieldData(out, groupField)
		}
	}
	return data, nil
}

// fieldNamed returns the column of the result's field called name.
func (s *rankedSource) fieldNamed(name string) column.Column {
	for i, fd := range s.fds {
		if fd.GetFieldName() == name {
			return s.fields[i]
		}
	}
	return nil
}

// fieldDataLike converts col back to wire form with fd's identity.
func fieldDataLike(schema *schemapb.CollectionSchema, fd *schemapb.FieldData, col column.Column) *schemapb.FieldData {
	f := fieldByID(schema, fd.GetFieldId())
	if f == nil {
		f = &schemapb.FieldSchema{Name: fd.GetFieldName(), FieldID: fd.GetFieldId(), DataType: fd.GetType(), IsDynamic: fd.GetIsDynamic()}
	}
	out := column.ToFieldData(col, f)
	out.FieldName, out.IsDynamic = fd.GetFieldName(), fd.GetIsDynamic()
	return out
}

// unfoldStructArrays replaces each ArrayOfStruct FieldData of a search
// result by its sub-fields under their flattened names ("struct[sub]"),
// the per-row columns the fusion copies hits from; foldStructArrays turns
// the fused sub-fields back into one struct field.
func unfoldStructArrays(fds []*schemapb.FieldData) []*schemapb.FieldData {
	out := make([]*schemapb.FieldData, 0, len(fds))
	for _, fd := range fds {
		if fd.GetType() != schemapb.DataType_ArrayOfStruct {
			out = append(out, fd)
			continue
		}
		for _, sub := range fd.GetStructArrays().GetFields() {
			flat := proto.Clone(sub).(*schemapb.FieldData)
			flat.FieldName = structSubFieldName(fd.GetFieldName(), sub.GetFieldName())
			out = append(out, flat)
		}
	}
	return out
}
