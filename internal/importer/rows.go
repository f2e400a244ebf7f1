package importer

import (
	"encoding/json"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/jsonrows"
)

// rowsToColumns converts JSON rows (objects keyed by field name) into the
// columns of an insert, with Milvus 2.6's import rules
// (importutilv2/json/row_parser.go):
//   - a missing or null value is a null slot when the field is nullable or
//     has a default value (filled by the insert validation), else
//     "value of field '%s' is missed";
//   - an auto-ID primary key must not be given;
//   - keys that are not fields go into the dynamic field when the schema
//     has one, else they are skipped (Milvus 2.6);
//   - function output fields (e.g. BM25 sparse vectors) are never given;
//   - fields in given are read as columns elsewhere.
//
// The conversion of values is internal/jsonrows's, shared with the REST insert.
func rowsToColumns(schema *schemapb.CollectionSchema, rows []map[string]json.RawMessage, given map[string]bool) ([]*schemapb.FieldData, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	omit := make(map[string]bool, len(given)+1)
	for name, ok := range given {
		omit[name] = ok
	}
	autoPK := ""
	for _, f := range schema.GetFields() {
		if f.GetIsPrimaryKey() && f.GetAutoID() && !f.GetIsDynamic() && !f.GetIsFunctionOutput() && !given[f.GetName()] {
			autoPK = f.GetName()
			omit[autoPK] = true
		}
	}
	row := func(i int) (map[string]json.RawMessage, error) {
		if _, ok := rows[i][autoPK]; ok && autoPK != "" {
			return nil, fmt.Errorf("the primary key '%s' is auto-generated, no need to provide", autoPK)
		}
		return rows[i], nil
	}
	fields, err := jsonrows.ToColumns(schema, len(rows), row, jsonrows.Options{
		Omit: omit,
		Missing: func(_ int, field string) error {
			return fmt.Errorf("value of field '%s' is missed", field)
		},
	})
	if err != nil {
		return nil, Failed("%v", err)
	}
	return fields, nil
}
