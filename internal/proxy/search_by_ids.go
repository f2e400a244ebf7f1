package proxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// Search by primary keys (Milvus 2.6, proxy handleIfSearchByPK): a
// SearchRequest may carry ids instead of a placeholder group. The proxy
// reads those rows' vectors (a query by primary key at the request's
// consistency, in its partitions) and searches with them as the queries.
// Unlike Milvus, whose queries come in primary-key order, query i is the
// vector of ids[i]; the two agree when the ids are sorted. A row whose
// vector is null gets no query and an empty result.

// resolveSearchByIDs turns a search by primary keys into a search by
// vectors, in place: it fetches the rows' vectors and replaces the ids by
// a placeholder group. It returns nil when the request carries no ids, or
// else one flag per id, false where the row's vector is null (then no
// query was made for it).
func (s *Server) resolveSearchByIDs(ctx context.Context, c *model.Collection, partIDs []int64, req *milvuspb.SearchRequest) ([]bool, error) {
	ids := req.GetIds()
	n := idsLen(ids)
	if n == 0 {
		return nil, nil
	}
	if distinctIDs(ids) != n {
		return nil, errInvalidMsg("duplicate IDs found in search request")
	}
	annsName, _ := kvLookup(req.GetSearchParams(), annsFieldKey)
	if annsName == "" {
		var vecs []*schemapb.FieldSchema
		// Milvus's typeutil.GetVectorFieldSchemas: embedding lists of
		// struct array fields count (a collection of only those has one).
		for _, f := range c.Schema.GetFields() {
			if column.IsVector(f.GetDataType()) || f.GetDataType() == schemapb.DataType_ArrayOfVector {
				vecs = append(vecs, f)
			}
		}
		switch len(vecs) {
		case 0:
			return nil, errInvalidValue("valid anns_field in search_params", "missing", "no vector field found in schema")
		case 1:
			annsName = vecs[0].GetName()
		default:
			return nil, errInvalidValue("valid anns_field in search_params", "missing", "multiple vector fields exist, please specify anns_field in search_params")
		}
	}
	field := fieldByName(c.Schema, annsName)
	if field == nil {
		return nil, errWithField(errs.ErrFieldNotFound, "field", annsName, "vector field not found in schema")
	}
	if field.GetDataType() == schemapb.DataType_ArrayOfVector {
		return nil, errInvalidMsg("array of vector is not supported for search by IDs")
	}
	// A BM25 function's output is searched by the text of its input
	// field, as Milvus's searchByPK does (the VarChar placeholder the
	// function turns into query terms).
	fetch, phType := field, placeholderType(field.GetDataType())
	if fn, ok := bm25FunctionOf(c.Schema, field.GetFieldID()); ok {
		fetch, phType = fn.Input, commonpb.PlaceholderType_VarChar
	} else if !column.IsVector(field.GetDataType()) {
		return nil, errInvalidMsg("field (%s) to search is not of vector data type", annsName)
	}
	pk := pkField(c)
	if err := checkIDsType(pk, ids); err != nil {
		return nil, err
	}
	filter, err := pkInFilter(c, ids.GetIntId().GetData(), ids.GetStrId().GetData())
	if err != nil {
		return nil, fmt.Errorf("search by ids: %w", err)
	}
	rows, err := s.queryShardsAt(ctx, c, filter, partIDs, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(),
		req.GetGuaranteeTimestamp(), 0, 0, 0, []int64{fetch.GetFieldID()}, false, false)
	if err != nil {
		return nil, err
	}
	// Row of each returned key.
	at := map[any]int{}
	for i, k := range rows.IntPKs {
		at[k] = i
	}
	for i, k := range rows.StrPKs {
		at[k] = i
	}
	order := make([]int, 0, n)
	var missing []any
	eachID(ids, func(k any) {
		if i, ok := at[k]; ok {
			order = append(order, i)
		} else {
			missing = append(missing, k)
		}
	})
	if len(missing) > 0 {
		return nil, errInvalidMsg("some of the provided primary key IDs do not exist: missing IDs = %v", missing)
	}
	vecs := rows.Fields[fetch.GetFieldID()]
	if vecs == nil {
		return nil, errWithField(errs.ErrFieldNotFound, "field", fetch.GetName(), "field not found in query result")
	}
	valid := make([]bool, n)
	ph := &commonpb.PlaceholderValue{Tag: "$0", Type: phType}
	for qi, row := range order {
		if vecs.IsNull(row) {
			continue
		}
		valid[qi] = true
		if texts, ok := vecs.(*column.Scalar[string]); ok {
			ph.Values = append(ph.Values, []byte(texts.Data[row]))
			continue
		}
		ph.Values = append(ph.Values, vectorBytes(vecs, row))
	}
	group, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{ph}})
	if err != nil {
		return nil, fmt.Errorf("search by ids: %w", err)
	}
	req.Nq = int64(len(ph.Values))
	req.SearchInput = &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: group}
	return valid, nil
}

// emptyResultsForNullVectors is the answer when every id's vector is null.
func emptyResultsForNullVectors(c *model.Collection, valid []bool) *milvuspb.SearchResults {
	return &milvuspb.SearchResults{
		CollectionName: c.Name,
		Results: &schemapb.SearchResultData{
			NumQueries: int64(len(valid)),
			Ids:        &schemapb.IDs{},
			Topks:      make([]int64, len(valid)),
		},
	}
}

// spreadOverIDs gives each id its query's results: ids whose vector is
// null get topk 0 (Milvus's adjustSearchResultsForNullVectors).
func spreadOverIDs(data *schemapb.SearchResultData, valid []bool) {
	topks := make([]int64, len(valid))
	j := 0
	for i, ok := range valid {
		if ok && j < len(data.GetTopks()) {
			topks[i] = data.GetTopks()[j]
			j++
		}
	}
	data.NumQueries = int64(len(valid))
	data.Topks = topks
}

// checkIDsType is Milvus's validateIDsType.
func checkIDsType(pk *schemapb.FieldSchema, ids *schemapb.IDs) error {
	switch pk.GetDataType() {
	case schemapb.DataType_Int64:
		if ids.GetIntId() == nil {
			return errInvalidValue("int64 IDs", "got other type", "primary key is int64, but IDs type mismatch")
		}
	case schemapb.DataType_VarChar:
		if ids.GetStrId() == nil {
			return errInvalidValue("string IDs", "got other type", "primary key is varchar, but IDs type mismatch")
		}
	default:
		return errInvalidValue("int64 or varchar", pk.GetDataType().String(),
			fmt.Sprintf("unsupported primary key type: %s", pk.GetDataType()))
	}
	return nil
}

func idsLen(ids *schemapb.IDs) int {
	return len(ids.GetIntId().GetData()) + len(ids.GetStrId().GetData())
}

func eachID(ids *schemapb.IDs, fn func(any)) {
	for _, k := range ids.GetIntId().GetData() {
		fn(k)
	}
	for _, k := range ids.GetStrId().GetData() {
		fn(k)
	}
}

func distinctIDs(ids *schemapb.IDs) int {
	seen := map[any]bool{}
	eachID(ids, func(k any) { seen[k] = true })
	return len(seen)
}

// placeholderType is the placeholder type that carries vectors of type t.
func placeholderType(t schemapb.DataType) commonpb.PlaceholderType {
	switch t {
	case schemapb.DataType_BinaryVector:
		return commonpb.PlaceholderType_BinaryVector
	case schemapb.DataType_Float16Vector:
		return commonpb.PlaceholderType_Float16Vector
	case schemapb.DataType_BFloat16Vector:
		return commonpb.PlaceholderType_BFloat16Vector
	case schemapb.DataType_SparseFloatVector:
		return commonpb.PlaceholderType_SparseFloatVector
	case schemapb.DataType_Int8Vector:
		return commonpb.PlaceholderType_Int8Vector
	}
	return commonpb.PlaceholderType_FloatVector
}

// vectorBytes is row i of a vector column in placeholder encoding.
func vectorBytes(col column.Column, i int) []byte {
	switch v := col.(type) {
	case *column.FloatVector:
		row := v.Row(i)
		out := make([]byte, 4*len(row))
		for j, f := range row {
			binary.LittleEndian.PutUint32(out[4*j:], math.Float32bits(f))
		}
		return out
	case *column.ByteVector:
		return append([]byte(nil), v.Row(i)...)
	case *column.SparseVector:
		return append([]byte(nil), v.Rows[i]...)
	}
	return nil
}
