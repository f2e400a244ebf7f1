package rest

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
)

// Search by primary keys (Milvus 2.6's REST v2: "ids" instead of "data").
var (
	errIDsAndData = &errs.Error{Code: errs.ErrParameterInvalid.Code,
		Msg: "primary keys (ids) and query vectors (data) are mutually exclusive. Please provide either 'ids' or 'data', not both"}
	errNoIDsNorData = &errs.Error{Code: errMissingParam.Code,
		Msg: "either 'ids' (for primary key search) or 'data' (for vector search) must be provided"}
)

// searchIDs converts the JSON "ids" of a search to the primary key's type
// as Milvus's convertIDsToSchemapbIDs does: Int64 keys from integral
// numbers or decimal strings, VarChar keys from strings or numbers.
func searchIDs(raw []json.RawMessage, pk *schemapb.FieldSchema) (*schemapb.IDs, error) {
	bad := func(format string, args ...any) error {
		return restErr(errs.ErrParameterInvalid, format, args...)
	}
	if pk == nil {
		return nil, &errs.Error{Code: errs.ErrParameterInvalid.Code, Msg: "collection has no primary key field"}
	}
	values := make([]any, len(raw))
	for i, r := range raw {
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		if err := dec.Decode(&values[i]); err != nil {
			return nil, bad("invalid id at index %d: %v", i, err)
		}
	}
	switch pk.GetDataType() {
	case schemapb.DataType_Int64:
		out := make([]int64, len(values))
		for i, v := range values {
			switch v := v.(type) {
			case json.Number:
				n, err := strconv.ParseInt(v.String(), 10, 64)
				if err != nil {
					f, ferr := v.Float64()
					if ferr != nil || f != math.Trunc(f) {
						return nil, bad("invalid int64 id at index %d: %v has fractional part", i, v)
					}
					n = int64(f)
				}
				out[i] = n
			case string:
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, bad("invalid int64 id at index %d: %v, error: %v", i, v, err)
				}
				out[i] = n
			default:
				return nil, bad("invalid id type at index %d: expected int64, got %T", i, v)
			}
		}
		return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: out}}}, nil
	case schemapb.DataType_VarChar:
		out := make([]string, len(values))
		for i, v := range values {
			switch v := v.(type) {
			case string:
				out[i] = v
			case json.Number:
				out[i] = v.String()
			default:
				return nil, bad("invalid id type at index %d: expected string, got %T", i, v)
			}
			if out[i] == "" {
				return nil, bad("empty string id at index %d", i)
			}
		}
		return &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: out}}}, nil
	}
	return nil, bad("unsupported primary key type: %s", pk.GetDataType())
}

// primaryOf returns a schema's primary key field, or nil.
func primaryOf(schema *schemapb.CollectionSchema) *schemapb.FieldSchema {
	for _, f := range schema.GetFields() {
		if f.GetIsPrimaryKey() {
			return f
		}
	}
	return nil
}
