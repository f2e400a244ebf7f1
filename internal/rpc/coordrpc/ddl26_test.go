package coordrpc_test

import (
	"context"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// sameFailure checks that the same bad call fails alike directly and over
// the wire (code and text).
func sameFailure(t *testing.T, what string, direct, remote error) {
	t.Helper()
	if direct == nil || remote == nil || remote.Error() != direct.Error() || errs.CodeOf(remote) != errs.CodeOf(direct) {
		t.Fatalf("%s: remote %v (code %d), direct %v (code %d)", what, remote, errs.CodeOf(remote), direct, errs.CodeOf(direct))
	}
}

func TestAlterDatabaseRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	if err := c.rootC.CreateDatabase(ctx, "db1", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.rootC.AlterDatabase(ctx, "db1", []*commonpb.KeyValuePair{{Key: "database.max.collections", Value: "7"}}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.root.DescribeDatabase(ctx, "db1")
	if err != nil || d.Properties["database.max.collections"] != "7" {
		t.Fatalf("after set: %+v, %v", d, err)
	}
	if err := c.rootC.AlterDatabase(ctx, "db1", nil, []string{"database.max.collections"}); err != nil {
		t.Fatal(err)
	}
	if d, err := c.rootC.DescribeDatabase(ctx, "db1"); err != nil || len(d.Properties) != 0 {
		t.Fatalf("after delete: %+v, %v", d, err)
	}
	props := []*commonpb.KeyValuePair{{Key: "k", Value: "v"}}
	errD := c.root.AlterDatabase(ctx, "nope", props, nil)
	errR := c.rootC.AlterDatabase(ctx, "nope", props, nil)
	sameErr(t, errD, errR, errs.ErrDatabaseNotFound)
	errD = c.root.AlterDatabase(ctx, "db1", props, []string{"k"})
	errR = c.rootC.AlterDatabase(ctx, "db1", props, []string{"k"})
	sameErr(t, errD, errR, errs.ErrParameterInvalid)
}

func TestRenameCollectionRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	coll, err := c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.rootC.RenameCollection(ctx, "", "docs", "", "papers"); err != nil {
		t.Fatal(err)
	}
	got, err := c.root.DescribeCollection(ctx, "", "papers", 0)
	if err != nil || got.ID != coll.ID {
		t.Fatalf("renamed: %+v, %v", got, err)
	}
	errD := c.root.RenameCollection(ctx, "", "docs", "", "x")
	errR := c.rootC.RenameCollection(ctx, "", "docs", "", "x")
	sameErr(t, errD, errR, errs.ErrCollectionNotFound)
}

func TestCollectionFieldRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	if _, err := c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 1}); err != nil {
		t.Fatal(err)
	}
	added, err := c.rootC.AddCollectionField(ctx, "", "docs", &schemapb.FieldSchema{Name: "score", DataType: schemapb.DataType_Int64, Nullable: true,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := c.root.DescribeCollection(ctx, "", "docs", 0)
	if err != nil {
		t.Fatal(err)
	}
	f := added.Field("score")
	if f == nil || f.GetFieldID() != direct.Field("score").GetFieldID() || f.GetDefaultValue().GetLongData() != 5 ||
		added.UpdateTS != direct.UpdateTS || added.Schema.GetVersion() != direct.Schema.GetVersion() {
		t.Fatalf("added over the wire %+v, direct %+v", added, direct)
	}
	dup := &schemapb.FieldSchema{Name: "tag", DataType: schemapb.DataType_Int64, Nullable: true}
	_, errD := c.root.AddCollectionField(ctx, "", "docs", dup)
	_, errR := c.rootC.AddCollectionField(ctx, "", "docs", dup)
	sameFailure(t, "duplicate field", errD, errR)
	_, errD = c.root.AddCollectionField(ctx, "", "gone", dup)
	_, errR = c.rootC.AddCollectionField(ctx, "", "gone", dup)
	sameErr(t, errD, errR, errs.ErrCollectionNotFound)

	altered, err := c.rootC.AlterCollectionField(ctx, "", "docs", "tag", []*commonpb.KeyValuePair{{Key: "max_length", Value: "32"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ = c.root.DescribeCollection(ctx, "", "docs", 0)
	if !proto.Equal(altered.Field("tag"), direct.Field("tag")) || altered.UpdateTS != direct.UpdateTS {
		t.Fatalf("altered over the wire %+v, direct %+v", altered.Field("tag"), direct.Field("tag"))
	}
	found := false
	for _, kv := range altered.Field("tag").GetTypeParams() {
		found = found || (kv.GetKey() == "max_length" && kv.GetValue() == "32")
	}
	if !found {
		t.Fatalf("max_length not altered: %v", altered.Field("tag").GetTypeParams())
	}
	_, errD = c.root.AlterCollectionField(ctx, "", "gone", "tag", nil, []string{"mmap.enabled"})
	_, errR = c.rootC.AlterCollectionField(ctx, "", "gone", "tag", nil, []string{"mmap.enabled"})
	sameErr(t, errD, errR, errs.ErrCollectionNotFound)
}

func TestAlterIndexAndDropSegmentsRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	coll, err := c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := contract.CreateIndexRequest{Collection: coll, Field: coll.Field("tag"), Name: "tag_idx",
		Params: map[string]string{"index_type": "INVERTED"}, UserParams: map[string]string{"index_type": "INVERTED"}}
	if err := c.index.CreateIndex(ctx, req); err != nil {
		t.Fatal(err)
	}
	changed, err := c.indexC.AlterIndex(ctx, coll.ID, "tag_idx", map[string]string{"mmap.enabled": "true"}, nil)
	if err != nil || !changed {
		t.Fatalf("alter: %v, %v", changed, err)
	}
	defs, _ := c.index.Indexes(ctx, coll.ID)
	if len(defs) != 1 || defs[0].UserParams["mmap.enabled"] != "true" {
		t.Fatalf("index after alter: %+v", defs)
	}
	if changed, err := c.indexC.AlterIndex(ctx, coll.ID, "tag_idx", nil, []string{"mmap.enabled"}); err != nil || !changed {
		t.Fatalf("delete key: %v, %v", changed, err)
	}
	if defs, _ := c.index.Indexes(ctx, coll.ID); defs[0].UserParams["mmap.enabled"] != "" {
		t.Fatalf("index after delete: %+v", defs)
	}
	if changed, err := c.indexC.AlterIndex(ctx, coll.ID, "no_such_idx", map[string]string{"mmap.enabled": "true"}, nil); err != nil || changed {
		t.Fatalf("unknown index: %v, %v", changed, err)
	}

	// A flushed segment dropped through the data coordinator's client.
	vc := coll.VChannels[0]
	a, err := c.data.AssignSegment(ctx, coll.ID, coll.Partitions[0].ID, vc, 3, 300, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.data.SealChannel(ctx, coll.ID, vc, 99); err != nil {
		t.Fatal(err)
	}
	if err := c.data.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a.SegmentID, NumRows: 3, Binlogs: map[int64]string{101: "insert_log/x"}, FlushTS: 99}); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.data.RowCount(ctx, coll.ID, 0); n != 3 {
		t.Fatalf("rows before truncate %d", n)
	}
	if err := c.dataC.DropSegments(ctx, coll.ID, []int64{a.SegmentID}); err != nil {
		t.Fatal(err)
	}
	segs, err := c.data.Segments(ctx, coll.ID, "")
	if err != nil || len(segs) != 0 {
		t.Fatalf("segments after DropSegments: %+v, %v", segs, err)
	}
	if n, _ := c.data.RowCount(ctx, coll.ID, 0); n != 0 {
		t.Fatalf("rows after truncate %d", n)
	}
}

func TestCollectionFunctionRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	if _, err := c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 1}); err != nil {
		t.Fatal(err)
	}
	fn := &schemapb.FunctionSchema{Name: "te", Type: schemapb.FunctionType_TextEmbedding, InputFieldNames: []string{"tag"}, OutputFieldNames: []string{"v"},
		Params: []*commonpb.KeyValuePair{{Key: "provider", Value: "tei"}}}
	added, err := c.rootC.AddCollectionFunction(ctx, "", "docs", fn)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := c.root.DescribeCollection(ctx, "", "docs", 0)
	if err != nil || !proto.Equal(added.Schema, direct.Schema) || len(added.Schema.GetFunctions()) != 1 || added.UpdateTS != direct.UpdateTS {
		t.Fatalf("added over the wire %v, direct %v (%v)", added.Schema.GetFunctions(), direct.Schema.GetFunctions(), err)
	}
	_, errD := c.root.AddCollectionFunction(ctx, "", "docs", fn)
	_, errR := c.rootC.AddCollectionFunction(ctx, "", "docs", fn)
	sameFailure(t, "duplicate function", errD, errR)
	fn.Params = append(fn.Params, &commonpb.KeyValuePair{Key: "endpoint", Value: "http://x"})
	altered, err := c.rootC.AlterCollectionFunction(ctx, "", "docs", fn)
	if err != nil || len(altered.Schema.GetFunctions()[0].GetParams()) != 2 {
		t.Fatalf("altered: %v, %v", altered, err)
	}
	gone := &schemapb.FunctionSchema{Name: "gone", InputFieldNames: []string{"tag"}, OutputFieldNames: []string{"v"}}
	_, errD = c.root.AlterCollectionFunction(ctx, "", "docs", gone)
	_, errR = c.rootC.AlterCollectionFunction(ctx, "", "docs", gone)
	sameFailure(t, "absent function", errD, errR)
	dropped, err := c.rootC.DropCollectionFunction(ctx, "", "docs", "te")
	if err != nil || len(dropped.Schema.GetFunctions()) != 0 || dropped.Field("v").GetIsFunctionOutput() {
		t.Fatalf("dropped: %v, %v", dropped, err)
	}
	_, errD = c.root.DropCollectionFunction(ctx, "", "nope", "te")
	_, errR = c.rootC.DropCollectionFunction(ctx, "", "nope", "te")
	sameErr(t, errD, errR, errs.ErrCollectionNotFound)
}
