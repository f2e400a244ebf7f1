package rootcoord

import (
	"context"
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/contract"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

func TestRenameCollection(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newServer(t, store, nil)
	a, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("a"), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("b"), ShardsNum: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAlias(ctx, "", "al", "a"); err != nil {
		t.Fatal(err)
	}
	f := func(db, old, newDB, name string, code int32, msg string) {
		t.Helper()
		err := s.RenameCollection(ctx, db, old, newDB, name)
		if errs.CodeOf(err) != code || err.Error() != msg {
			t.Fatalf("rename %s.%s -> %s.%s: %v (code %d), want %q (%d)", db, old, newDB, name, err, errs.CodeOf(err), msg, code)
		}
	}
	f("", "a", "", "b", 65535, "duplicated new collection name default:b with other collection name or alias")
	f("", "al", "", "x", 65535, "unsupported use an alias to rename collection, alias:al")
	f("", "b", "", "al", 65535, "cannot rename collection to an existing alias: al")
	f("", "a", "", "a", 1100, "collection name or database name should be different: invalid parameter")
	f("", "a", "nodb", "x", 800, "target database nodb not found: database not found[database=nodb]")
	f("nodb", "a", "nodb", "x", 65535, "target database:nodb not found")
	f("", "zz", "", "x", 100, "collection not found[collection=zz]")
	f("", "", "", "x", 1100, "old collection name should not be empty: invalid parameter")

	if err := s.RenameCollection(ctx, "", "a", "", "c"); err != nil {
		t.Fatal(err)
	}
	c, err := s.DescribeCollection(ctx, "", "al", 0)
	if err != nil || c.ID != a.ID || c.Name != "c" || c.Schema.GetName() != "c" || c.UpdateTS <= a.UpdateTS {
		t.Fatalf("renamed collection through its alias: %+v, %v", c, err)
	}
	if err := s.CreateDatabase(ctx, "db2", nil); err != nil {
		t.Fatal(err)
	}
	f("", "c", "db2", "c", 65535, "fail to rename db name, must drop all aliases of this collection before rename")
	if err := s.DropAlias(ctx, "", "al"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameCollection(ctx, "default", "c", "db2", "d"); err != nil {
		t.Fatal(err)
	}
	s2 := newServer(t, store, nil) // restart
	c, err = s2.DescribeCollection(ctx, "db2", "d", 0)
	if err != nil || c.ID != a.ID || c.DBName != "db2" {
		t.Fatalf("after restart: %+v, %v", c, err)
	}
	if _, err := s2.DescribeCollection(ctx, "", "c", 0); !errors.Is(err, errs.ErrCollectionNotFound) {
		t.Fatalf("old name after restart: %v", err)
	}
}

func TestAddAndAlterCollectionField(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newServer(t, store, nil)
	a, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: testSchema("a"), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.AddCollectionField(ctx, "", "a", &schemapb.FieldSchema{Name: "s", DataType: schemapb.DataType_VarChar, Nullable: true,
		TypeParams: []*commonpb.KeyValuePair{{Key: "max_length", Value: "8"}}})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Field("s")
	if f == nil || f.GetFieldID() != 102 || c.Schema.GetVersion() != a.Schema.GetVersion()+1 || c.UpdateTS <= a.UpdateTS {
		t.Fatalf("after add: %+v version %d", f, c.Schema.GetVersion())
	}
	// Only the "timezone" every 2.6 collection gets at creation.
	if len(c.Properties) != 1 || c.Properties[0].GetKey() != "timezone" {
		t.Fatalf("properties after adding a field: %v", c.Properties)
	}
	if _, err := s.AddCollectionField(ctx, "", "a", &schemapb.FieldSchema{Name: "s", DataType: schemapb.DataType_Int64, Nullable: true}); errs.CodeOf(err) != 1100 {
		t.Fatalf("duplicate field: %v", err)
	}
	c, err = s.AlterCollectionField(ctx, "", "a", "s", []*commonpb.KeyValuePair{{Key: "max_length", Value: "32"}, {Key: FieldDescriptionKey, Value: "d"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := propertyValue(c.Field("s").GetTypeParams(), "max_length"); v != "32" || c.Field("s").GetDescription() != "d" || c.Schema.GetVersion() != a.Schema.GetVersion()+2 {
		t.Fatalf("after alter: %+v", c.Field("s"))
	}
	// An alter that changes nothing keeps the version and update timestamp.
	same, err := s.AlterCollectionField(ctx, "", "a", "s", []*commonpb.KeyValuePair{{Key: "max_length", Value: "32"}}, []string{"mmap.enabled"})
	if err != nil || same.UpdateTS != c.UpdateTS || same.Schema.GetVersion() != c.Schema.GetVersion() {
		t.Fatalf("no-op alter: %v, ts %d/%d", err, same.UpdateTS, c.UpdateTS)
	}
	if _, err := s.AlterCollectionField(ctx, "", "a", "nope", nil, []string{"x"}); !errors.Is(err, errs.ErrFieldNotFound) {
		t.Fatalf("missing field: %v", err)
	}
	// The next field ID after a restart.
	s2 := newServer(t, store, nil)
	c, err = s2.AddCollectionField(ctx, "", "a", &schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int64, Nullable: true})
	if err != nil || c.Field("n").GetFieldID() != 103 {
		t.Fatalf("second field after restart: %v, %v", c.Field("n"), err)
	}
}

func TestAlterDatabase(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newServer(t, store, nil)
	if err := s.CreateDatabase(ctx, "d", map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	kvs := func(kv ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i < len(kv); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	if err := s.AlterDatabase(ctx, "d", kvs("b", "2", "a", "3"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AlterDatabase(ctx, "d", nil, []string{"b", "zz"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AlterDatabase(ctx, "d", kvs("a", "3"), []string{"a"}); errs.CodeOf(err) != 1100 {
		t.Fatalf("both: %v", err)
	}
	if err := s.AlterDatabase(ctx, "d", nil, nil); errs.CodeOf(err) != 1100 {
		t.Fatalf("neither: %v", err)
	}
	if err := s.AlterDatabase(ctx, "nodb", kvs("a", "1"), nil); !errors.Is(err, errs.ErrDatabaseNotFound) {
		t.Fatalf("missing database: %v", err)
	}
	db, err := newServer(t, store, nil).DescribeDatabase(ctx, "d")
	if err != nil || len(db.Properties) != 1 || db.Properties["a"] != "3" {
		t.Fatalf("after restart: %+v, %v", db, err)
	}
}

func propertyValue(kvs []*commonpb.KeyValuePair, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}
