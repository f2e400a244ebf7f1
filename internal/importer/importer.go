// Package importer reads bulk-import files (Milvus 2.6's
// internal/util/importutilv2 formats: JSON, CSV, NumPy, Parquet) from the
// object store into the field data of an insert, one file group at a time.
package importer

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
)

// ErrImportFailed is Milvus's merr.ErrImportFailed (code 2100): the files
// do not fit the collection.
var ErrImportFailed = &errs.Error{Code: 2100, Msg: "importing data failed"}

// importError renders as Milvus's wrapped error: "<detail>: importing data failed".
type importError struct{ detail string }

func (e *importError) Error() string { return e.detail + ": " + ErrImportFailed.Msg }
func (e *importError) Unwrap() error { return ErrImportFailed }

// Failed is an ErrImportFailed with a detail.
func Failed(format string, args ...any) error {
	return &importError{detail: fmt.Sprintf(format, args...)}
}

// Objects is what the importer reads files from (the object store).
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Format is a file group's format, chosen by file extension as Milvus does.
type Format int

// Formats.
const (
	JSON Format = iota + 1
	CSV
	NumPy
	Parquet
)

// Options are the import options Milvus reads (importutilv2/option.go).
type Options struct {
	Sep     rune   // CSV separator, "sep" (default ',')
	NullKey string // CSV null marker, "nullkey" (default "")
}

// ParseOptions reads the request's options.
func ParseOptions(kv map[string]string) (Options, error) {
	o := Options{Sep: ','}
	if v, ok := kv["sep"]; ok {
		r := []rune(v)
		if len(r) != 1 || r[0] == '\r' || r[0] == '\n' || r[0] == '"' {
			return o, Failed("unsupported csv separator: %s", v)
		}
		o.Sep = r[0]
	}
	o.NullKey = kv["nullkey"]
	return o, nil
}

// FormatOf picks the format of a file group: every file of a NumPy group
// ends in .npy; otherwise the group is one file.
func FormatOf(files []string) (Format, error) {
	if len(files) == 0 {
		return 0, Failed("no file to import")
	}
	ext := strings.ToLower(path.Ext(files[0]))
	if len(files) > 1 && ext != ".npy" {
		return 0, Failed("for JSON or parquet file, each task only accepts one file")
	}
	switch ext {
	case ".json":
		return JSON, nil
	case ".csv":
		return CSV, nil
	case ".npy":
		for _, f := range files {
			if strings.ToLower(path.Ext(f)) != ".npy" {
				return 0, Failed("unexpected file type, files=%v", files)
			}
		}
		return NumPy, nil
	case ".parquet":
		return Parquet, nil
	}
	return 0, Failed("unexpected file type, files=%v", files)
}

// Read reads one file group into the field data of an insert (the
// dynamic field as "$meta" JSON objects when the schema has one) and its
// row count. Errors are ErrImportFailed unless the object store failed.
func Read(ctx context.Context, objs Objects, schema *schemapb.CollectionSchema, files []string, opts Options) ([]*schemapb.FieldData, int, error) {
	format, err := FormatOf(files)
	if err != nil {
		return nil, 0, err
	}
	if format == NumPy {
		return readNumPy(ctx, objs, schema, files)
	}
	data, err := objs.Get(ctx, files[0])
	if err != nil {
		return nil, 0, fmt.Errorf("importer: read %s: %w", files[0], err)
	}
	switch format {
	case JSON:
		return readJSON(schema, data)
	case CSV:
		return readCSV(schema, data, opts)
	case Parquet:
		return readParquet(schema, data)
	}
	return nil, 0, errors.New("importer: unknown format")
}
