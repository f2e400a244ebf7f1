package rootcoord

import (
	"context"
	"errors"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

func testSchema(name string) *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: name, Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "4"}}},
	}}
}

type recordingHooks struct{ dropped []string }

func (h *recordingHooks) CollectionDropped(_ context.Context, c *model.Collection) {
	h.dropped = append(h.dropped, c.Name)
}
func (h *recordingHooks) PartitionDropped(context.Context, *model.Collection, int64) {}

func newServer(t *testing.T, store kv.Store, hooks Hooks) *Server {
	t.Helper()
	s, err := New(context.Background(), Default(), Deps{KV: store, Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCollectionLifecycleSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	hooks := &recordingHooks{}
	s := newServer(t, store, hooks)
	c, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("books"), ShardsNum: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.VChannels) != 2 || len(c.PChannels) != 2 || c.Partitions[0].Name != model.DefaultPartition {
		t.Fatalf("unexpected collection: %+v", c)
	}
	if err := s.CreatePartition(ctx, "", "books", "p1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAlias(ctx, "", "novels", "books"); err != nil {
		t.Fatal(err)
	}
	// Restart: everything is read back from the meta store.
	s2 := newServer(t, store, hooks)
	got, err := s2.DescribeCollection(ctx, "", "novels", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || len(got.Partitions) != 2 || got.Schema.GetName() != "books" {
		t.Fatalf("after restart: %+v", got)
	}
	if ts, _ := s2.AllocTimestamp(ctx, 1); ts <= got.UpdateTS {
		t.Fatalf("timestamp %d not after the last update %d", ts, got.UpdateTS)
	}
	// An alias blocks the drop; dropping it then the collection notifies hooks.
	if err := s2.DropCollection(ctx, "", "books"); !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("drop with alias: %v", err)
	}
	if err := s2.DropAlias(ctx, "", "novels"); err != nil {
		t.Fatal(err)
	}
	if err := s2.DropCollection(ctx, "", "books"); err != nil {
		t.Fatal(err)
	}
	if len(hooks.dropped) != 1 || hooks.dropped[0] != "books" {
		t.Fatalf("hooks saw %v", hooks.dropped)
	}
	if _, err := s2.DescribeCollection(ctx, "", "books", 0); errs.CodeOf(err) != 100 {
		t.Fatalf("describe dropped: %v", err)
	}
}

func TestCreateCollectionIdempotentButNotWithDifferentSchema(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, kv.NewMemory(), nil)
	a, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("c"), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("c"), ShardsNum: 1})
	if err != nil || a.ID != b.ID {
		t.Fatalf("same schema again: %v, ids %d %d", err, a.ID, b.ID)
	}
	other := testSchema("c")
	other.Fields[1].TypeParams[0].Value = "8"
	if _, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: other, ShardsNum: 1}); errs.CodeOf(err) != 1100 {
		t.Fatalf("different schema: %v", err)
	}
}

func TestDatabases(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, kv.NewMemory(), nil)
	if dbs := must(s.ListDatabases(ctx)); len(dbs) != 1 || dbs[0].Name != "default" {
		t.Fatalf("fresh deployment has %v", dbs)
	}
	if err := s.CreateDatabase(ctx, "analytics", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{DBName: "analytics", Schema: testSchema("c"), ShardsNum: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DescribeCollection(ctx, "default", "c", 0); errs.CodeOf(err) != 100 {
		t.Fatalf("collection leaked across databases: %v", err)
	}
	if err := s.DropDatabase(ctx, "analytics"); err == nil {
		t.Fatal("dropped a database that has collections")
	}
	if err := s.DropDatabase(ctx, "default"); err == nil {
		t.Fatal("dropped the default database")
	}
	if _, err := s.ListCollections(ctx, "nope"); errs.CodeOf(err) != 800 {
		t.Fatalf("missing database: %v", err)
	}
}

func TestDropDefaultPartitionRefused(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, kv.NewMemory(), nil)
	if _, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("c"), ShardsNum: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.DropPartition(ctx, "", "c", model.DefaultPartition); errs.CodeOf(err) != 1100 {
		t.Fatalf("drop _default: %v", err)
	}
	if err := s.CreatePartition(ctx, "", "c", "p"); err != nil {
		t.Fatal(err)
	}
	// Milvus ignores creating a partition that exists (ddl_callbacks_create_partition.go).
	if err := s.CreatePartition(ctx, "", "c", "p"); err != nil {
		t.Fatalf("duplicate partition: %v", err)
	}
	if c, _ := s.DescribeCollection(ctx, "", "c", 0); len(c.Partitions) != 2 {
		t.Fatalf("partitions after a duplicate create: %+v", c.Partitions)
	}
	_, err := s.DescribeCollection(ctx, "", "nope", 0)
	if errs.CodeOf(err) != 100 || err.Error() != "collection not found[database=default][collection=nope]" {
		t.Fatalf("missing collection: %v", err)
	}
}

// Milvus's UpdateTimestamp, which clients send back with writes, moves when
// the collection is altered, not when a partition or an alias comes or
// goes: otherwise the first insert after CreatePartition is refused with
// 109 and the SDK retries it.
func TestSchemaTimestampMovesOnlyOnAlteration(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newServer(t, store, nil)
	c, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("books"), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	created := c.SchemaTimestamp()
	if created == 0 {
		t.Fatal("no schema timestamp at create")
	}
	schemaTS := func() (schema, update uint64) {
		t.Helper()
		got, err := s.DescribeCollection(ctx, "", "books", 0)
		if err != nil {
			t.Fatal(err)
		}
		return got.SchemaTimestamp(), got.UpdateTS
	}
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"create partition", func() error { return s.CreatePartition(ctx, "", "books", "p1") }},
		{"create alias", func() error { return s.CreateAlias(ctx, "", "novels", "books") }},
		{"drop alias", func() error { return s.DropAlias(ctx, "", "novels") }},
		{"drop partition", func() error { return s.DropPartition(ctx, "", "books", "p1") }},
	} {
		_, beforeUpdate := schemaTS()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		schema, update := schemaTS()
		if schema != created {
			t.Fatalf("%s moved the schema timestamp: %d -> %d", step.name, created, schema)
		}
		if update <= beforeUpdate {
			t.Fatalf("%s did not move the update timestamp that orders definitions", step.name)
		}
	}
	props := []*commonpb.KeyValuePair{{Key: "collection.ttl.seconds", Value: "60"}}
	if err := s.AlterCollectionProperties(ctx, "", "books", props, nil); err != nil {
		t.Fatal(err)
	}
	altered, _ := schemaTS()
	if altered <= created {
		t.Fatalf("alter did not move the schema timestamp: %d -> %d", created, altered)
	}
	// Read back after a restart.
	got, err := newServer(t, store, nil).DescribeCollection(ctx, "", "books", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.SchemaTimestamp() != altered {
		t.Fatalf("after restart: schema timestamp %d, want %d", got.SchemaTimestamp(), altered)
	}
}
