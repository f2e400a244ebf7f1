package proxy

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/scalarindex"
)

// Scalar index parameters: the scalar checkers' CheckTrain
// (internal/util/indexparamcheck: INVERTEDChecker, NgramIndexChecker) and
// the JSON path handling of Milvus 2.6's createIndexTask.parseIndexParams
// and datacoord's CreateIndex.

var validJSONCastTypes = []string{"BOOL", "DOUBLE", "VARCHAR", "ARRAY_BOOL", "ARRAY_DOUBLE", "ARRAY_VARCHAR", "JSON"}

// normalizeJSONIndexParams upper-cases json_cast_type and
// json_cast_function, as parseIndexParams does before any check.
func normalizeJSONIndexParams(flat map[string]string) {
	for _, k := range []string{"json_cast_type", "json_cast_function"} {
		if v, ok := flat[k]; ok {
			flat[k] = strings.ToUpper(strings.TrimSpace(v))
		}
	}
}

// scalarIndexTrainError is CheckTrain of the scalar index checkers for
// index type typ ("" and AUTOINDEX are INVERTED, Milvus's scalar auto
// index): why the parameters are wrong, or "".
func scalarIndexTrainError(typ string, field *schemapb.FieldSchema, flat map[string]string) string {
	t := field.GetDataType()
	switch strings.ToUpper(typ) {
	case "", "AUTOINDEX", "INVERTED":
		if t != schemapb.DataType_JSON {
			return ""
		}
		cast, ok := flat["json_cast_type"]
		if !ok {
			return "json index must specify cast type: missing parameter[missing_param=json_cast_type]"
		}
		if !slices.Contains(validJSONCastTypes, cast) {
			return "json_cast_type " + cast + " is not supported: invalid parameter"
		}
		if fn, ok := flat["json_cast_function"]; ok {
			if fn != "STRING_TO_DOUBLE" {
				return "json_cast_function " + fn + " is not supported: invalid parameter"
			}
			if cast != "DOUBLE" {
				return "json_cast_function " + fn + " is not supported for json_cast_type " + cast + ": invalid parameter"
			}
		}
	case "NGRAM":
		if t != schemapb.DataType_VarChar && t != schemapb.DataType_JSON {
			return "Ngram index can only be created on VARCHAR or JSON field: invalid parameter"
		}
		if t == schemapb.DataType_JSON {
			cast, ok := flat["json_cast_type"]
			if !ok {
				return "JSON field with ngram index must specify json_cast_type: invalid parameter"
			}
			if cast != "VARCHAR" {
				return "JSON field with ngram index only supports VARCHAR cast type, got: " + cast + ": invalid parameter"
			}
		}
		minS, ok1 := flat["min_gram"]
		maxS, ok2 := flat["max_gram"]
		if !ok1 || !ok2 {
			return "Ngram index must specify both min_gram and max_gram: invalid parameter"
		}
		lo, err := strconv.Atoi(minS)
		if err != nil {
			return "min_gram for Ngram index must be an integer, got: " + minS + ": invalid parameter"
		}
		hi, err := strconv.Atoi(maxS)
		if err != nil {
			return "max_gram for Ngram index must be an integer, got: " + maxS + ": invalid parameter"
		}
		if lo <= 0 || hi <= 0 || lo > hi {
			return "invalid min_gram or max_gram value for Ngram index, min_gram: " + minS + ", max_gram: " + maxS + ": invalid parameter"
		}
	}
	return ""
}

// resolveJSONPath turns a JSON index's json_path (default: the field name
// the request gave) into the JSON Pointer Milvus stores ("/a/b", "" for the
// whole field), as datacoord's CreateIndex does with
// ParseAndVerifyNestedPath.
func resolveJSONPath(c *model.Collection, field *schemapb.FieldSchema, fieldName string, flat map[string]string) error {
	path, ok := flat["json_path"]
	if !ok {
		path = fieldName
	}
	id, keys, err := expr.ParseIdentifier(c.Schema, path)
	if err != nil {
		return errs.InvalidParameter("%v", err)
	}
	if id != field.GetFieldID() {
		return errs.Plain("fieldID not match with field name")
	}
	if len(keys) == 0 {
		flat["json_path"] = ""
		return nil
	}
	esc := make([]string, len(keys))
	for i, k := range keys {
		esc[i] = strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
	}
	flat["json_path"] = "/" + strings.Join(esc, "/")
	return nil
}

// withJSONCasts attaches to a filter the json_cast_function of the
// collection's JSON path indexes, so that every segment (indexed or
// scanned) compares the path's values cast as the index holds them:
// Milvus casts only at index build and answers differently per segment;
// Milvago's results are the scan's with the cast (docs/json-indexes.md).
func (s *Server) withJSONCasts(ctx context.Context, c *model.Collection, filter *expr.Expr) (*expr.Expr, error) {
	if filter == nil {
		return nil, nil
	}
	hasJSON := false
	for _, id := range filter.Fields() {
		if f := c.FieldByID(id); f != nil && f.GetDataType() == schemapb.DataType_JSON {
			hasJSON = true
		}
	}
	if !hasJSON {
		return filter, nil
	}
	defs, err := s.d.Index.Indexes(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var casts []expr.JSONCast
	for _, d := range defs {
		fn := d.IndexParams["json_cast_function"]
		if fn == "" {
			continue
		}
		casts = append(casts, expr.JSONCast{FieldID: d.FieldID, Path: scalarindex.ParsePointer(d.IndexParams["json_path"]), Function: fn})
	}
	if len(casts) == 0 {
		return filter, nil
	}
	return filter.WithJSONCasts(casts), nil
}
