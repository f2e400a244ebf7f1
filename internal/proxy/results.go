package proxy

import (
	"encoding/json"
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// projectDynamic keeps only the given keys of each "$meta" JSON object, as
// Milvus does when output_fields names dynamic keys. Keys a row lacks are
// left out; null rows stay null; a row that is not a JSON object becomes
// "{}". The result is a new column; meta is not modified.
func projectDynamic(meta *column.Scalar[[]byte], keys []string) *column.Scalar[[]byte] {
	out := &column.Scalar[[]byte]{Type: meta.Type, Data: make([][]byte, len(meta.Data))}
	if meta.Valid != nil {
		out.Valid = append([]bool(nil), meta.Valid...)
	}
	for i, row := range meta.Data {
		if meta.IsNull(i) {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(row, &m); err != nil || m == nil {
			out.Data[i] = []byte("{}")
			continue
		}
		kept := make(map[string]json.RawMessage, len(keys))
		for _, k := range keys {
			if v, ok := m[k]; ok {
				kept[k] = v
			}
		}
		b, err := json.Marshal(kept) // sorted keys; RawMessage values are copied verbatim
		if err != nil {
			b = []byte("{}")
		}
		out.Data[i] = b
	}
	return out
}

// fieldsDataFor builds the fields_data of a Query or Search result: one
// FieldData per field ID, in order, named and typed as in the schema,
// IsDynamic set on "$meta" (projected to dynamicKeys when there are any),
// and nullable fields sent with ValidData (scalars in full form, vectors
// compact), as Milvus sends them. Fields without a column are skipped.
func fieldsDataFor(schema *schemapb.CollectionSchema, fieldIDs []int64, cols map[int64]column.Column, dynamicKeys []string) []*schemapb.FieldData {
	out := make([]*schemapb.FieldData, 0, len(fieldIDs))
	for _, id := range fieldIDs {
		f := fieldByID(schema, id)
		c := cols[id]
		if f == nil || c == nil {
			continue
		}
		if f.GetIsDynamic() && len(dynamicKeys) > 0 {
			if meta, ok := c.(*column.Scalar[[]byte]); ok {
				c = projectDynamic(meta, dynamicKeys)
			}
		}
		fd := column.ToFieldData(c, f)
		if f.GetNullable() && fd.ValidData == nil {
			fd.ValidData = make([]bool, c.Len())
			for i := range fd.ValidData {
				fd.ValidData[i] = true
			}
		}
		if !f.GetNullable() {
			fd.ValidData = nil
		}
		out = append(out, fd)
	}
	return foldStructArrays(schema, out)
}

// idsOf converts a primary key column (Int64 or VarChar) to Milvus's IDs.
// Any other column gives empty Int64 IDs.
func idsOf(pk column.Column) *schemapb.IDs {
	switch c := pk.(type) {
	case *column.Scalar[string]:
		return &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: c.Data}}}
	case *column.Scalar[int64]:
		return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: c.Data}}}
	}
	return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{}}}}
}

// emptyIDs returns empty IDs of the primary key's type.
func emptyIDs(schema *schemapb.CollectionSchema) *schemapb.IDs {
	if pk := primaryField(schema); pk != nil && pk.GetDataType() == schemapb.DataType_VarChar {
		return &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: []string{}}}}
	}
	return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{}}}}
}

// roundScores rounds scores in place to decimals digits (half away from
// zero, like segcore's std::round); decimals -1 leaves them alone.
func roundScores(scores []float32, decimals int) {
	if decimals < 0 {
		return
	}
	m := math.Pow(10, float64(decimals))
	for i, s := range scores {
		scores[i] = float32(math.Round(float64(s)*m) / m)
	}
}

// newSearchResultData assembles a search result in Milvus's flattened
// form: Topks[i] hits for query i, their IDs, scores (L2 as squared
// distances) and field values concatenated query after query. topK is the
// requested limit; outputNames are the user's output fields; pkName names
// the primary key field.
func newSearchResultData(nq, topK int, topks []int64, ids *schemapb.IDs, scores []float32, fields []*schemapb.FieldData, outputNames []string, pkName string) *schemapb.SearchResultData {
	if topks == nil {
		topks = make([]int64, nq)
	}
	if scores == nil {
		scores = []float32{}
	}
	if ids == nil {
		ids = &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{}}}}
	}
	if fields == nil {
		fields = []*schemapb.FieldData{}
	}
	return &schemapb.SearchResultData{
		NumQueries:       int64(nq),
		TopK:             int64(topK),
		Topks:            topks,
		Ids:              ids,
		Scores:           scores,
		FieldsData:       fields,
		OutputFields:     outputNames,
		PrimaryFieldName: pkName,
	}
}
