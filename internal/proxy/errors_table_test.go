package proxy

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/model"
)

// TestMilvusErrorTable checks the request checks of this package against
// Milvus 2.6's codes and texts, one case per error; each case names the
// Milvus source it was checked against (milvus-io/milvus, branch 2.6).
// tests/e2e/errors_milvus_test.go drives the same errors through the SDK.
func TestMilvusErrorTable(t *testing.T) {
	vec := &schemapb.FieldSchema{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "8")}
	bin := &schemapb.FieldSchema{FieldID: 102, Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "64")}
	sparse := &schemapb.FieldSchema{FieldID: 103, Name: "sp", DataType: schemapb.DataType_SparseFloatVector}
	tag := &schemapb.FieldSchema{FieldID: 104, Name: "tag", DataType: schemapb.DataType_VarChar, TypeParams: kv("max_length", "8")}
	pk := &schemapb.FieldSchema{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true}
	coll := &model.Collection{ID: 7, Name: "c", Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{pk, vec, bin, sparse, tag}},
		Partitions: []model.Partition{{ID: 1, Name: "_default"}}}
	pairs := func(kvs ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i+1 < len(kvs); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: kvs[i], Value: kvs[i+1]})
		}
		return out
	}
	index := func(f *schemapb.FieldSchema, kvs ...string) func() error {
		return func() error {
			extra := pairs(kvs...)
			flat, _, err := flattenIndexParams(extra)
			if err != nil {
				return err
			}
			return checkIndexParams(f, extra, flat)
		}
	}
	row := func(pairs ...uint32) []byte { // id, float32 bits, id, bits...
		b := make([]byte, 4*len(pairs))
		for i, p := range pairs {
			binary.LittleEndian.PutUint32(b[4*i:], p)
		}
		return b
	}
	one := math.Float32bits(1)
	highlight := func(spec *searchSpec, params []*commonpb.KeyValuePair) func() error {
		return func() error {
			if spec == nil {
				spec = &searchSpec{FieldID: 101, Metric: "L2"}
			}
			_, err := planHighlight(coll, &milvuspb.SearchRequest{Highlighter: &commonpb.Highlighter{Params: params}}, spec, nil)
			return err
		}
	}

	cases := []struct {
		what string
		call func() error
		code int32
		text string
	}{
		// internal/proxy/task_index.go parseIndexParams
		{"duplicated index param", index(vec, "index_type", "FLAT", "metric_type", "L2", "metric_type", "IP"), 1100,
			"duplicated index param (key=metric_type) (value=IP) found: invalid parameter"},
		{"unknown index type", index(vec, "index_type", "NOPE", "metric_type", "L2"), 1100,
			"invalid parameter[expected=valid index][actual=invalid index type: NOPE]"},
		{"metric missing", index(vec, "index_type", "HNSW"), 1100,
			"metric type not set for vector index: invalid parameter[expected=valid index params][actual=invalid index params]"},
		{"float metric", index(vec, "index_type", "HNSW", "metric_type", "HAMMING"), 1100, "float vector index does not support metric type: HAMMING"},
		{"binary metric", index(bin, "index_type", "BIN_FLAT", "metric_type", "L2"), 1100, "binary vector index does not support metric type: L2"},
		{"sparse metric", index(sparse, "index_type", "SPARSE_INVERTED_INDEX", "metric_type", "L2"), 1100,
			"only IP&BM25 is the supported metric type for sparse index"},
		{"BM25 without a function", index(sparse, "index_type", "SPARSE_INVERTED_INDEX", "metric_type", "BM25"), 1100,
			"only BM25 Function output field support BM25 metric type"},
		// task_index.go checkTrain: CheckVecIndexWithDataTypeExist, vecIndexChecker.CheckValidDataType
		{"sparse field, float index", index(sparse, "index_type", "SCANN", "metric_type", "IP"), 1100,
			"data type SparseFloatVector can't build with this index SCANN"},
		{"vector index on a scalar", index(tag, "index_type", "HNSW"), 1100, "index HNSW only supports vector data type"},
		// internal/util/indexparamcheck/{trie,stl_sort,bitmap_index}_checker.go, wrapped by checkTrain
		{"TRIE on a vector-less int", index(pk, "index_type", "Trie"), 1100, "TRIE are only supported on varchar field"},
		{"STL_SORT on an array", index(&schemapb.FieldSchema{Name: "a", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64},
			"index_type", "STL_SORT"), 1100, "STL_SORT are only supported on numeric, varchar or timestamptz field, got Array"},
		{"BITMAP on the primary key", index(pk, "index_type", "BITMAP"), 1100, "create bitmap index on primary key not supported"},
		// internal/proxy/task.go alterCollectionTask.PreExecute
		{"properties and delete keys", func() error {
			return checkAlterCollection(coll, false, pairs("a", "1"), []string{"b"})
		}, 1100, "cannot provide both DeleteKeys and ExtraParams"},
		{"alter mmap loaded", func() error { return checkAlterCollection(coll, true, pairs("mmap.enabled", "true"), nil) }, 104,
			"can not alter mmap properties if collection loaded: collection already loaded[collection=c]"},
		{"drop mmap loaded", func() error { return checkAlterCollection(coll, true, nil, []string{"mmap.enabled"}) }, 104,
			"can not delete mmap properties if collection loaded"},
		{"drop warmup loaded", func() error { return checkAlterCollection(coll, true, nil, []string{"warmup.vectorField"}) }, 104,
			"can not delete warmup.vectorField properties if collection loaded"},
		{"allow_insert_auto_id without auto_id", func() error {
			return checkAlterCollection(coll, false, pairs("allow_insert_auto_id", "true"), nil)
		}, 1100, "the value for allow_insert_auto_id must be false when autoID is false"},
		// internal/proxy/util.go validatePartitionTag(strict=false); search_util.go getPartitionIDs
		{"empty partition name", func() error { _, err := readPartitionIDs(coll, []string{""}); return err }, 65535,
			"Invalid partition name: . Partition name should not be empty."},
		{"missing partition", func() error { _, err := readPartitionIDs(coll, []string{"aaa"}); return err }, 65535,
			"partition name aaa not found"},
		// internal/core/src/common/Utils.h CopyAndWrapSparseRow
		{"sparse ids not ascending", func() error { return validateSparseQueries([][]byte{row(3, one, 3, one)}) }, 2001,
			"Invalid sparse row: id should be strict ascending"},
		{"sparse negative", func() error { return validateSparseQueries([][]byte{row(3, math.Float32bits(-1))}) }, 2001,
			"Invalid sparse row: negative value"},
		{"sparse NaN", func() error { return validateSparseQueries([][]byte{row(3, math.Float32bits(float32(math.NaN())))}) }, 2001,
			"Invalid sparse row: NaN or Inf value"},
		{"sparse row size", func() error { return validateSparseQueries([][]byte{{1, 2, 3}}) }, 2001, "Invalid size for sparse row data"},
		// internal/proxy/highlighter.go NewLexicalHighlighter, task_search.go
		// createLexicalHighlighter / initHighlightQueries
		{"highlight fragment_size", highlight(nil, pairs("fragment_size", "0")), 1100, "invalid fragment_size: 0: invalid parameter"},
		{"highlight pre_tags empty", highlight(nil, pairs("pre_tags", "[]")), 1100, "pre_tags cannot be empty list: invalid parameter"},
		{"highlight query type", highlight(nil, pairs("highlight_query", `[{"type":"X","field":"tag","text":"a"}]`)), 1100,
			"unmarshal highlight queries failed: invalid highlight query type: X: invalid parameter"},
		{"highlight unknown field", highlight(nil, pairs("highlight_query", `[{"type":"TextMatch","field":"nope","text":"a"}]`)), 1100,
			"highlight field not found in schema: nope: invalid parameter"},
		{"highlight field without analyzer", highlight(nil, pairs("highlight_query", `[{"type":"TextMatch","field":"tag","text":"a"}]`)), 1100,
			"get highlight failed, the highlight field not found, tag:104: invalid parameter"},
		{"highlight search text, not BM25", highlight(&searchSpec{FieldID: 101, Metric: "L2"}, pairs("highlight_search_text", "true")), 1100,
			`Search highlight only support with metric type "BM25" but was: L2`},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { checkErr(t, c.call(), c.code, c.text) })
	}

	// Accepted as Milvus accepts them.
	for what, call := range map[string]func() error{
		"AUTOINDEX without metric":   index(vec, "index_type", "AUTOINDEX"),
		"no index type":              index(vec, "metric_type", "L2"),
		"scalar index on a scalar":   index(tag, "index_type", "INVERTED"),
		"BIN_FLAT SUBSTRUCTURE":      index(bin, "index_type", "BIN_FLAT", "metric_type", "SUBSTRUCTURE"),
		"alter mmap released":        func() error { return checkAlterCollection(coll, false, pairs("mmap.enabled", "true"), nil) },
		"drop ttl loaded":            func() error { return checkAlterCollection(coll, true, nil, []string{"collection.ttl.seconds"}) },
		"empty sparse query":         func() error { return validateSparseQueries([][]byte{{}}) },
		"no partitions (all)":        func() error { _, err := readPartitionIDs(coll, nil); return err },
		"ascending sparse query":     func() error { return validateSparseQueries([][]byte{row(1, one, 2, one)}) },
		"existing partition by name": func() error { _, err := readPartitionIDs(coll, []string{"_default"}); return err },
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}
