package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

func kvPairs(kvs ...string) []*commonpb.KeyValuePair {
	out := make([]*commonpb.KeyValuePair, 0, len(kvs)/2)
	for i := 0; i+1 < len(kvs); i += 2 {
		out = append(out, &commonpb.KeyValuePair{Key: kvs[i], Value: kvs[i+1]})
	}
	return out
}

// TestMilvusServerErrorTable drives the proxy's refusals that need a
// running cluster (a loaded collection, an index, a partition) through the
// SDK's raw service client, each with Milvus's code and text and the
// Milvus 2.6 source (milvus-io/milvus, branch 2.6, FILE:LINE) it was checked
// against. internal/proxy's TestMilvus*ErrorTable tables pin the checks
// that need no cluster.
//
// The model-service refusals are driven against embeddingtest's servers:
// a TEI server for a TextEmbedding function, and a zilliz gRPC server
// whose HighlightService answers one result short (a faulty deployment).
func TestMilvusServerErrorTable(t *testing.T) {
	tei := embeddingtest.Start(embeddingtest.Options{Dim: teDim})
	defer tei.Close()
	zilliz, err := embeddingtest.StartZilliz(embeddingtest.ZillizOptions{ShortHighlights: true})
	must(t, err)
	defer zilliz.Close()
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Public.Models = embedding.Config{Zilliz: embedding.ZillizConfig{Endpoint: zilliz.Addr()}}
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const loaded, idle, embedded, dim = "srverr", "srverr_idle", "srverr_te", 8

	schema := entity.NewSchema().WithName(loaded).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64).WithEnableAnalyzer(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim)).
		WithField(entity.NewField().WithName("sp").WithDataType(entity.FieldTypeSparseVector)).
		WithFunction(entity.NewFunction().WithName("bm").WithType(entity.FunctionTypeBM25).WithInputFields("tag").WithOutputFields("sp"))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(loaded, schema)))
	must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(loaded, "p1")))
	const n = 10
	ids, tags, vecs := make([]int64, n), make([]string, n), make([][]float32, n)
	for i := range n {
		ids[i], tags[i] = int64(i), fmt.Sprintf("word%d text", i)
		vecs[i] = make([]float32, dim)
		vecs[i][i%dim] = float32(i + 1)
	}
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(loaded).WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("vec", dim, vecs))
	must(t, err)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(loaded, "sp", index.NewSparseInvertedIndex(entity.BM25, 0.1)))
	must(t, err)
	must(t, it.Await(ctx))
	indexAndLoad(t, ctx, cli, loaded, "vec", index.NewFlatIndex(entity.L2))

	// An unloaded collection with an STL_SORT index, for AlterIndex.
	idleSchema := entity.NewSchema().WithName(idle).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("n").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(idle, idleSchema)))
	it, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(idle, "n", index.NewSortedIndex()).WithIndexName("n_idx"))
	must(t, err)
	must(t, it.Await(ctx))

	// A loaded collection whose dense field is a TextEmbedding function's
	// output (TEI provider).
	teSchema := entity.NewSchema().WithName(embedded).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(256)).
		WithField(entity.NewField().WithName("dense").WithDataType(entity.FieldTypeFloatVector).WithDim(teDim)).
		WithFunction(entity.NewFunction().WithName("te").WithType(entity.FunctionTypeTextEmbedding).
			WithInputFields("text").WithOutputFields("dense").WithParam("provider", "TEI").WithParam("endpoint", tei.URL()))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(embedded, teSchema)))
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(embedded).WithInt64Column("id", []int64{1, 2}).
		WithVarcharColumn("text", []string{"alpha river", "beta mountain"}))
	must(t, err)
	indexAndLoad(t, ctx, cli, embedded, "dense", index.NewFlatIndex(entity.COSINE))

	svc := cli.GetService()
	insertColumns := func(fields ...*schemapb.FieldData) func() error {
		return func() error {
			r, err := svc.Insert(ctx, &milvuspb.InsertRequest{CollectionName: embedded, FieldsData: fields, NumRows: 1})
			return merr.CheckRPCCall(r, err)
		}
	}
	int64Column := func(name string, v int64) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: name, Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{v}}}}}}
	}
	textPlaceholders := func(tags ...string) []byte {
		pg := &commonpb.PlaceholderGroup{}
		for _, tag := range tags {
			pg.Placeholders = append(pg.Placeholders, &commonpb.PlaceholderValue{Tag: tag, Type: commonpb.PlaceholderType_VarChar,
				Values: [][]byte{[]byte("alpha")}})
		}
		b, err := proto.Marshal(pg)
		must(t, err)
		return b
	}
	search := func(req *milvuspb.SearchRequest) func() error {
		return func() error {
			req.DslType, req.ConsistencyLevel = commonpb.DslType_BoolExprV1, commonpb.ConsistencyLevel_Strong
			r, err := svc.Search(ctx, req)
			return merr.CheckRPCCall(r, err)
		}
	}
	vectorPlaceholder := func() []byte {
		v := make([]float32, dim)
		v[0] = 1
		b, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{Tag: "$0",
			Type: commonpb.PlaceholderType_FloatVector, Values: [][]byte{floatBytes(v)}}}})
		must(t, err)
		return b
	}
	analyze := func(req *milvuspb.RunAnalyzerRequest) func() error {
		return func() error {
			if req.Placeholder == nil {
				req.Placeholder = [][]byte{[]byte("a b"), []byte("c"), []byte("d")}
			}
			r, err := svc.RunAnalyzer(ctx, req)
			return merr.CheckRPCCall(r, err)
		}
	}
	alterField := func(field string, props []*commonpb.KeyValuePair, drop ...string) func() error {
		return func() error {
			r, err := svc.AlterCollectionField(ctx, &milvuspb.AlterCollectionFieldRequest{CollectionName: loaded, FieldName: field,
				Properties: props, DeleteKeys: drop})
			return merr.CheckRPCCall(r, err)
		}
	}
	alterIndex := func(name string, key, value string) func() error {
		return func() error {
			r, err := svc.AlterIndex(ctx, &milvuspb.AlterIndexRequest{CollectionName: idle, IndexName: name,
				ExtraParams: []*commonpb.KeyValuePair{{Key: key, Value: value}}})
			return merr.CheckRPCCall(r, err)
		}
	}
	prop := func(k, v string) []*commonpb.KeyValuePair { return []*commonpb.KeyValuePair{{Key: k, Value: v}} }
	desc, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(loaded))
	must(t, err)

	cases := []struct {
		what string
		call func() error
		code int32
		text string
	}{
		// internal/proxy/util.go:163-172 validateRunAnalyzer (fmt.Errorf: 65535)
		{"analyzer params with a collection", analyze(&milvuspb.RunAnalyzerRequest{CollectionName: loaded, FieldName: "tag",
			AnalyzerParams: `{"tokenizer":"standard"}`}), 65535, "run analyzer can't use analyzer params and (collection,field) in same time"},
		{"analyzer of a collection without a field", analyze(&milvuspb.RunAnalyzerRequest{CollectionName: loaded}), 65535,
			"must set field name when collection name was set"},
		{"two analyzer names for three texts", analyze(&milvuspb.RunAnalyzerRequest{CollectionName: loaded, FieldName: "tag",
			AnalyzerNames: []string{"a", "b"}}), 65535,
			"only support set one analyzer name for all text or set analyzer name for each text, but now analzer name num: 2, text num: 3"},
		// internal/querynodev2/delegator/delegator.go:1416
		{"analyzer of a field no BM25 function reads", analyze(&milvuspb.RunAnalyzerRequest{CollectionName: loaded, FieldName: "id"}), 65535,
			"not exist, now only support run analyzer by field if field was bm25 input field"},
		// internal/proxy/task.go:2026 dropPartitionTask.PreExecute (errors.New: 65535)
		{"drop a loaded partition", func() error {
			return cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(loaded, "p1"))
		}, 65535, "partition cannot be dropped, partition is loaded, please release it first"},
		// internal/proxy/task.go:1747-1812 alterCollectionFieldTask.PreExecute
		{"alter warmup of a loaded field", alterField("vec", prop("warmup", "sync")), 104,
			"can not alter warmup if collection loaded: collection already loaded[collection=srverr]"},
		{"max_length of an int", alterField("id", prop("max_length", "10")), 1100, " can not modify the maxlength for non-string types"}, // Milvus names the field only when it is a string
		{"max_length of an int, exact", func() error {
			err := alterField("id", prop("max_length", "10"))()
			if err != nil && err.Error() != " can not modify the maxlength for non-string types: invalid parameter" {
				return fmt.Errorf("text differs from Milvus's: %q", err.Error()) // code 65535: fails the case
			}
			return err
		}, 1100, "can not modify the maxlength"},
		{"max_length not an integer", alterField("tag", prop("max_length", "x")), 1100, "max_length should be an integer, but got string"},
		{"max_capacity of a varchar", alterField("tag", prop("max_capacity", "10")), 1100, "can not modify the maxcapacity for non-array types"},
		{"drop an unknown field property", alterField("tag", nil, "nope"), 1100, "nope is not allowed to drop in collection field param"},
		{"drop mmap of a loaded field", alterField("vec", nil, "mmap.enabled"), 104,
			"can not drop collection field properties if collection loaded: collection already loaded[collection=srverr]"},
		// internal/proxy/task_index.go:849 alterIndexTask.PreExecute
		{"alter an index without a name", alterIndex("", "mmap.enabled", "true"), 1100, "index name is empty"},
		// internal/datacoord/index_service.go:293-302, internal/util/indexparamcheck/index_type.go:79-98
		{"mmap of an STL_SORT index", alterIndex("n_idx", "mmap.enabled", "true"), 1100,
			"invalid mmap index params: index type STL_SORT does not support mmap: invalid parameter"},
		{"mmap not a bool", alterIndex("n_idx", "mmap.enabled", "x"), 1100,
			"invalid mmap index params: invalid mmap.enabled value: x, expected: true, false: invalid parameter"},
		{"offset cache of an STL_SORT index", alterIndex("n_idx", "indexoffsetcache.enabled", "true"), 1100,
			"invalid offset cache index params: only bitmap index support indexoffsetcache.enabled now: invalid parameter"},
		{"offset cache not a bool", alterIndex("n_idx", "indexoffsetcache.enabled", "x"), 1100,
			"invalid offset cache index params: invalid indexoffsetcache.enabled value: x, expected: true, false: invalid parameter"},
		// internal/proxy/task_delete.go:316
		{"delete everything", func() error {
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(loaded).WithExpr("true"))
			return err
		}, 1100, "delete plan can't be empty or always true : true"},
		// internal/proxy/task_delete.go:311 wraps planparserv2's fmt.Errorf once
		{"delete with a filter that does not parse", func() error {
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(loaded).WithExpr("id >"))
			if err != nil && strings.Count(err.Error(), "invalid parameter") != 1 {
				return fmt.Errorf("wrapped twice: %q", err.Error()) // code 65535: fails the case
			}
			return err
		}, 1100, "failed to create delete plan: cannot parse expression: id >, error: "},
		// internal/proxy/task_query.go:510
		{"count with a limit", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(loaded).WithOutputFields("count(*)").WithLimit(3))
			return err
		}, 1100, "count entities with pagination is not allowed"},
		// internal/proxy/task_query.go:277,311 matchCountRule builds a count
		// plan for "count(*)" alone; in a longer list util.go:1687-1719
		// translateOutputFields refuses it (fmt.Errorf: 65535) in PreExecute,
		// before the empty-filter check and before the load check of Execute.
		{"count(*) with another field, dynamic schema", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(loaded).WithOutputFields("count(*)", "tag"))
			return err
		}, 65535, "parse output field name failed: count(*)"},
		{"count(*) after another field, filtered", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(loaded).WithFilter("id > 2").WithOutputFields("tag", "COUNT(*)"))
			return err
		}, 65535, "parse output field name failed: COUNT(*)"},
		{"count(*) with another field, unloaded collection without dynamic field", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(idle).WithOutputFields("count(*)", "n"))
			return err
		}, 65535, "field count(*) not exist"},
		// internal/datacoord/index_service.go:992
		{"drop the vector index of a loaded collection", func() error {
			return cli.DropIndex(ctx, milvusclient.NewDropIndexOption(loaded, "vec"))
		}, 1100, "vector index cannot be dropped on loaded collection: "},
		// internal/proxy/task.go:2663 loadPartitionsTask.Execute (errors.New: 65535)
		{"load no partitions", func() error {
			r, err := svc.LoadPartitions(ctx, &milvuspb.LoadPartitionsRequest{CollectionName: loaded})
			return merr.CheckRPCCall(r, err)
		}, 65535, "failed to load partition, due to no partition specified"},
		// internal/querycoordv2/services.go:169 ShowLoadPartitions, even for a collection not loaded
		{"loading progress of a partition not loaded", func() error {
			r, err := svc.GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{CollectionName: idle, PartitionNames: []string{"_default"}})
			return merr.CheckRPCCall(r, err)
		}, 201, "partition not loaded[partition="},
		// internal/proxy/task_search.go:207 (errors.New: 65535)
		{"1025 sub-searches", func() error {
			subs := make([]*milvuspb.SearchRequest, 1025)
			for i := range subs {
				subs[i] = &milvuspb.SearchRequest{CollectionName: loaded}
			}
			r, err := svc.HybridSearch(ctx, &milvuspb.HybridSearchRequest{CollectionName: loaded, Requests: subs})
			return merr.CheckRPCCall(r, err)
		}, 65535, "maximum of ann search requests is 1024"},
		// internal/querycoordv2/services.go:643 LoadBalance: merr.WrapErrNodeNotFound(node, reason)
		// renders the reason first ("<reason>: node not found[node=N]").
		{"balance off a node of no replica", func() error {
			r, err := svc.LoadBalance(ctx, &milvuspb.LoadBalanceRequest{CollectionName: loaded, SrcNodeID: 999})
			return merr.CheckRPCCall(r, err)
		}, 901, fmt.Sprintf("source node not found in any replica of collection %d: node not found[node=999]", desc.ID)},
		// internal/proxy/task_index.go:602 getIndexedFieldAndFunction (fmt.Errorf: 65535)
		{"index on a missing field", func() error {
			_, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(idle, "nope", index.NewSortedIndex()))
			return err
		}, 65535, "cannot create index on non-exist field: nope"},
		// internal/util/function/embedding/function_executor.go:144, wrapped
		// by ProcessInsert's fmt.Errorf("%v", errs) (:188; 65535): Milvus's
		// insertTask.PreExecute runs the functions (task_insert.go:167)
		// before any check of the columns.
		{"insert without the embedding function's input", insertColumns(int64Column("id", 3)), 65535, "[input field not found]"},
		// internal/util/function/embedding/text_embedding_function.go:253, the same wrapping
		{"insert with the embedding input of another type", insertColumns(int64Column("id", 3), int64Column("text", 7)), 65535,
			"[text embedding only supports varchar or text field as input field, but got Int64]"},
		// internal/util/function/embedding/function_executor.go:204 (merr.WrapErrParameterInvalidMsg: 1100)
		{"text search with two placeholders", search(&milvuspb.SearchRequest{CollectionName: embedded,
			SearchParams: kvPairs("anns_field", "dense", "topk", "2", "metric_type", "COSINE"),
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: textPlaceholders("$0", "$1")}}),
			1100, "No placeholders founded: invalid parameter"},
		// internal/util/function/highlight/semantic_highlight.go:174 (fmt.Errorf: 65535);
		// the model answered 2 results for 3 documents
		{"semantic highlight answer short of the documents", search(&milvuspb.SearchRequest{CollectionName: loaded, Nq: 1,
			SearchParams: kvPairs("anns_field", "vec", "topk", "3", "metric_type", "L2"),
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: vectorPlaceholder()},
			Highlighter: &commonpb.Highlighter{Type: commonpb.HighlightType_Semantic,
				Params: kvPairs("queries", `["word1"]`, "input_fields", `["tag"]`, "model_deployment_id", "hl")}}),
			65535, "highlights size must equal to documents size, but got highlights size [2], scores size [2], documents size [3]"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { wantCode(t, c.call(), c.code, c.text) })
	}
}
