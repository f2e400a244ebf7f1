package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/parquet-go/parquet-go"
)

// readParquet reads a Parquet file whose columns are named after the
// fields, as the SDKs' BulkWriter writes it: vectors and arrays as lists,
// JSON and the dynamic field ("$meta") as strings holding JSON.
func readParquet(schema *schemapb.CollectionSchema, data []byte) (fields []*schemapb.FieldData, n int, err error) {
	defer func() {
		// parquet-go panics on some malformed files.
		if r := recover(); r != nil {
			fields, n, err = nil, 0, Failed("failed to read parquet file: %v", r)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, 0, Failed("failed to open parquet file: %v", err)
	}
	byName := map[string]*schemapb.FieldSchema{}
	for _, fs := range schema.GetFields() {
		byName[fs.GetName()] = fs
	}
	for _, col := range f.Schema().Fields() {
		if fs := byName[col.Name()]; fs != nil && fs.GetIsPrimaryKey() && fs.GetAutoID() {
			return nil, 0, Failed("the primary key '%s' is auto-generated, no need to provide", col.Name())
		}
	}
	r := parquet.NewGenericReader[map[string]any](bytes.NewReader(data), f.Schema())
	defer r.Close()
	total := int(r.NumRows())
	rows := make([]map[string]json.RawMessage, 0, total)
	batch := make([]map[string]any, 1024)
	for {
		for i := range batch {
			batch[i] = map[string]any{}
		}
		k, err := r.Read(batch)
		for _, m := range batch[:k] {
			row := make(map[string]json.RawMessage, len(m))
			for name, v := range m {
				b, err := parquetValue(v)
				if err != nil {
					return nil, 0, Failed("field %s: %v", name, err)
				}
				row[name] = b
			}
			rows = append(rows, row)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, Failed("failed to read parquet file: %v", err)
		}
		if k == 0 {
			break
		}
	}
	return finish(schema, rows)
}

// parquetValue renders a Parquet cell as JSON; byte arrays (binary
// vectors) become lists of byte values.
func parquetValue(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case []byte:
		ints := make([]int, len(x))
		for i, b := range x {
			ints[i] = int(b)
		}
		return json.Marshal(ints)
	case nil:
		return json.RawMessage("null"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("unsupported value %T: %v", v, err)
	}
	return b, nil
}
