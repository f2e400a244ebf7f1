package importer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/milvago/milvago/internal/jsonrows"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// finish turns rows keyed by name into field data: a "$meta" value (a
// JSON object, or a string holding one) spreads into the dynamic field, a
// JSON field given as a string is read as the JSON it holds.
func finish(schema *schemapb.CollectionSchema, rows []map[string]json.RawMessage) ([]*schemapb.FieldData, int, error) {
	return finishWith(schema, rows, nil)
}

// finishWith is finish for rows lacking the fields of columns, which were
// read as whole columns already.
func finishWith(schema *schemapb.CollectionSchema, rows []map[string]json.RawMessage, columns []*schemapb.FieldData) ([]*schemapb.FieldData, int, error) {
	given := map[string]bool{}
	for _, fd := range columns {
		given[fd.GetFieldName()] = true
	}
	jsonFields := map[string]bool{}
	known := map[string]bool{}
	dynamic := false
	for _, f := range schema.GetFields() {
		known[f.GetName()] = true
		if f.GetIsDynamic() {
			dynamic = true
			continue
		}
		if f.GetDataType() == schemapb.DataType_JSON {
			jsonFields[f.GetName()] = true
		}
	}
	for i, row := range rows {
		for name := range jsonFields {
			if v, ok := row[name]; ok {
				if s, isStr := jsonString(v); isStr {
					if !json.Valid([]byte(s)) {
						return nil, 0, Failed("row %d: field %s: invalid JSON format string: %s", i, name, jsonrows.Abbrev(v))
					}
					row[name] = json.RawMessage(s)
				}
			}
		}
		meta, ok := row[jsonrows.MetaKey]
		if !ok {
			continue
		}
		delete(row, jsonrows.MetaKey)
		if !dynamic || jsonrows.IsNull(meta) {
			continue
		}
		if s, isStr := jsonString(meta); isStr {
			meta = json.RawMessage(s)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(meta, &obj); err != nil {
			return nil, 0, Failed("illegal value for dynamic field, not a JSON object")
		}
		for k, v := range obj {
			if known[k] {
				continue
			}
			if _, dup := row[k]; dup {
				return nil, 0, Failed("duplicated key is not allowed, key=%s", k)
			}
			row[k] = v
		}
	}
	fields, err := rowsToColumns(schema, rows, given)
	if err != nil {
		return nil, 0, err
	}
	return append(fields, columns...), len(rows), nil
}

func jsonString(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// readJSON reads Milvus's row-based JSON: {"rows": [...]} or a plain
// array of row objects.
func readJSON(schema *schemapb.CollectionSchema, data []byte) ([]*schemapb.FieldData, int, error) {
	data = bytes.TrimSpace(data)
	var rows []map[string]json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &rows); err != nil {
			return nil, 0, Failed("failed to parse JSON file: %v", err)
		}
	case len(data) > 0 && data[0] == '{':
		var doc struct {
			Rows *[]map[string]json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, 0, Failed("failed to parse JSON file: %v", err)
		}
		if doc.Rows == nil {
			return nil, 0, Failed("invalid JSON format, the root key should be 'rows'")
		}
		rows = *doc.Rows
	default:
		return nil, 0, Failed("invalid JSON format, each row should be a key-value map, the file should be an array of rows or an object with key 'rows'")
	}
	for i, r := range rows {
		if r == nil {
			return nil, 0, Failed("row %d: invalid JSON format, each row should be a key-value map", i)
		}
	}
	return finish(schema, rows)
}

// readCSV reads a CSV file whose header names the fields. Vectors, arrays
// and JSON are JSON text; VarChar cells are taken verbatim; a cell equal
// to the null key is null (for nullable fields).
func readCSV(schema *schemapb.CollectionSchema, data []byte, opts Options) ([]*schemapb.FieldData, int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = opts.Sep
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, Failed("read csv header error: %v", err)
	}
	types := map[string]*schemapb.FieldSchema{}
	for _, f := range schema.GetFields() {
		types[f.GetName()] = f
	}
	for _, h := range header {
		if f := types[h]; f != nil && f.GetIsPrimaryKey() && f.GetAutoID() {
			return nil, 0, Failed("the primary key '%s' is auto-generated, no need to provide", h)
		}
	}
	var rows []map[string]json.RawMessage
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, Failed("read csv error: %v", err)
		}
		if len(rec) != len(header) {
			return nil, 0, Failed("the number of fields in the row is not equal to the header")
		}
		row := make(map[string]json.RawMessage, len(rec))
		for i, cell := range rec {
			name := header[i]
			f := types[name]
			if cell == opts.NullKey && (f == nil || f.GetNullable() || f.GetDefaultValue() != nil) {
				row[name] = json.RawMessage("null")
				continue
			}
			row[name] = csvValue(f, cell)
		}
		rows = append(rows, row)
	}
	return finish(schema, rows)
}

// csvValue is a cell as the JSON value of its field: strings quoted,
// everything else given as JSON text.
func csvValue(f *schemapb.FieldSchema, cell string) json.RawMessage {
	quote := func() json.RawMessage { b, _ := json.Marshal(cell); return b }
	if f == nil {
		return quote() // a dynamic key: kept as the string it is
	}
	switch f.GetDataType() {
	case schemapb.DataType_VarChar, schemapb.DataType_String, schemapb.DataType_Timestamptz, schemapb.DataType_Geometry:
		return quote()
	case schemapb.DataType_JSON:
		return quote() // finish reads the JSON it holds
	}
	if f.GetIsDynamic() {
		return quote()
	}
	if cell == "" {
		return quote() // rejected with the field's own message
	}
	return json.RawMessage(cell)
}

var _ = strconv.Quote
