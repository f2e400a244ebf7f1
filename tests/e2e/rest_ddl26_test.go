package e2e

import (
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestRESTDDL26 drives Milvus 2.6's DDL endpoints of the RESTful API v2:
// databases alter / drop_properties, collections fields/add and
// fields/alter_properties, rename, truncate, refresh_load, and indexes
// alter_properties / drop_properties (the function endpoints:
// rest_functions_test.go).
func TestRESTDDL26(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr
	ctx := testContext(t)
	cli := srv.client(t)

	// Databases.
	restOK(t, base, "/databases/create", map[string]any{"dbName": "rdb"})
	restOK(t, base, "/databases/alter", map[string]any{"dbName": "rdb", "properties": map[string]any{"database.max.collections": 5, "x": "y"}})
	restOK(t, base, "/databases/alter_properties", map[string]any{"dbName": "rdb", "properties": map[string]any{"z": true}})
	d := restOK(t, base, "/databases/describe", map[string]any{"dbName": "rdb"}).(map[string]any)
	if len(d["properties"].([]any)) != 3 {
		t.Fatalf("database after alter: %v", d)
	}
	restOK(t, base, "/databases/drop_properties", map[string]any{"dbName": "rdb", "propertyKeys": []string{"x", "z"}})
	d = restOK(t, base, "/databases/describe", map[string]any{"dbName": "rdb"}).(map[string]any)
	if p := d["properties"].([]any); len(p) != 1 || p[0].(map[string]any)["key"] != "database.max.collections" {
		t.Fatalf("database after drop_properties: %v", d)
	}
	restWantCode(t, base, "/databases/alter", map[string]any{"dbName": "rdb"}, 1100)
	restWantCode(t, base, "/databases/alter", map[string]any{"properties": map[string]any{"a": 1}}, 1802)
	restWantCode(t, base, "/databases/drop_properties", map[string]any{"dbName": "nodb", "propertyKeys": []string{"a"}}, 800)

	// A collection made with the quick form is indexed and loaded.
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "rc", "dimension": 4})
	rows := []map[string]any{}
	for i := range 10 {
		rows = append(rows, map[string]any{"id": i, "vector": []float32{float32(i), 1, 2, 3}})
	}
	restOK(t, base, "/entities/insert", map[string]any{"collectionName": "rc", "data": rows})

	// fields/add, then the new field reads as its default.
	restOK(t, base, "/collections/fields/add", map[string]any{"collectionName": "rc", "schema": map[string]any{
		"fieldName": "color", "dataType": "VarChar", "elementTypeParams": map[string]any{"max_length": 16},
		"nullable": true, "defaultValue": "red"}})
	restWantCode(t, base, "/collections/fields/add", map[string]any{"collectionName": "rc", "schema": map[string]any{
		"fieldName": "n", "dataType": "Int64"}}, 1100)
	restWantCode(t, base, "/collections/fields/add", map[string]any{"collectionName": "rc"}, 1802)
	q := restOK(t, base, "/entities/query", map[string]any{"collectionName": "rc", "filter": `color == "red"`,
		"outputFields": []string{"color"}, "limit": 100})
	if n := len(restRows(t, q)); n != 10 {
		t.Fatalf("%d rows with the default color, want 10", n)
	}

	// fields/alter_properties.
	restOK(t, base, "/collections/fields/alter_properties", map[string]any{"collectionName": "rc", "fieldName": "color",
		"fieldParams": map[string]any{"max_length": 64}})
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("rc"))
	must(t, err)
	if f := coll.Schema.Fields[len(coll.Schema.Fields)-1]; f.Name != "color" || f.TypeParams["max_length"] != "64" {
		t.Fatalf("color after alter: %+v", f)
	}
	restWantCode(t, base, "/collections/fields/alter_properties", map[string]any{"collectionName": "rc", "fieldName": "color",
		"fieldParams": map[string]any{"dim": 8}}, 1100)

	// indexes alter_properties / drop_properties (refused while loaded).
	idx := restOK(t, base, "/indexes/list", map[string]any{"collectionName": "rc"}).([]any)
	name := idx[0].(string)
	restWantCode(t, base, "/indexes/alter_properties", map[string]any{"collectionName": "rc", "indexName": name,
		"properties": map[string]any{"mmap.enabled": true}}, 104)
	restOK(t, base, "/collections/release", map[string]any{"collectionName": "rc"})
	restOK(t, base, "/indexes/alter_properties", map[string]any{"collectionName": "rc", "indexName": name,
		"properties": map[string]any{"mmap.enabled": true}})
	desc := restOK(t, base, "/indexes/describe", map[string]any{"collectionName": "rc", "indexName": name}).([]any)
	if desc[0].(map[string]any)["mmap.enabled"] != "true" {
		t.Fatalf("index after alter_properties: %v", desc)
	}
	restOK(t, base, "/indexes/drop_properties", map[string]any{"collectionName": "rc", "indexName": name, "propertyKeys": []string{"mmap.enabled"}})
	desc = restOK(t, base, "/indexes/describe", map[string]any{"collectionName": "rc", "indexName": name}).([]any)
	if desc[0].(map[string]any)["mmap.enabled"] != "" {
		t.Fatalf("index after drop_properties: %v", desc)
	}
	restWantCode(t, base, "/indexes/drop_properties", map[string]any{"collectionName": "rc", "indexName": name, "propertyKeys": []string{"nlist"}}, 1100)

	// refresh_load: refused when released, fine once loaded.
	restWantCode(t, base, "/collections/refresh_load", map[string]any{"collectionName": "rc"}, 101)
	restOK(t, base, "/collections/load", map[string]any{"collectionName": "rc"})
	eventually(t, 30*time.Second, "loaded", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("rc"))
		return err == nil && st.State == entity.LoadStateLoaded, ""
	})
	restOK(t, base, "/collections/refresh_load", map[string]any{"collectionName": "rc"})

	// rename, within the database and into rdb.
	restOK(t, base, "/collections/rename", map[string]any{"collectionName": "rc", "newCollectionName": "rc2"})
	restWantCode(t, base, "/collections/rename", map[string]any{"collectionName": "rc", "newCollectionName": "rc3"}, 100)
	restWantCode(t, base, "/collections/rename", map[string]any{"collectionName": "rc2"}, 1802)
	restOK(t, base, "/collections/rename", map[string]any{"collectionName": "rc2", "newCollectionName": "rc3", "newDbName": "rdb"})
	has := restOK(t, base, "/collections/has", map[string]any{"dbName": "rdb", "collectionName": "rc3"}).(map[string]any)
	if has["has"] != true {
		t.Fatalf("rdb.rc3 after rename: %v", has)
	}

	// truncate keeps the collection and empties it.
	restOK(t, base, "/collections/truncate", map[string]any{"dbName": "rdb", "collectionName": "rc3"})
	q = restOK(t, base, "/entities/query", map[string]any{"dbName": "rdb", "collectionName": "rc3", "filter": "id >= 0",
		"outputFields": []string{"count(*)"}})
	if r := restRows(t, q); restInt(t, r[0]["count(*)"]) != 0 {
		t.Fatalf("count after truncate: %v", r)
	}
	restWantCode(t, base, "/collections/truncate", map[string]any{"collectionName": "nope"}, 100)
}
