package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/app"
)

// startStandalone runs a real standalone server on loopback and returns
// the base URL of its gRPC port, where the REST API is served.
func startStandalone(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := app.DefaultStandalone()
	cfg.DataDir = t.TempDir()
	s, err := app.NewStandalone(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatalf("start standalone: %v", err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, gl, hl) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("standalone did not stop")
		}
	})
	// Ready once /healthz says so: until then the API answers "service
	// not ready" (code 1).
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + hl.Addr().String() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("standalone not healthy after 60s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + gl.Addr().String()
}

type client struct {
	t      *testing.T
	base   string
	header map[string]string
}

// post sends a request and returns the decoded answer (HTTP 200 required).
func (c *client) post(path string, body any) map[string]any {
	c.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+"/v2/vectordb"+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("POST %s: HTTP %d %s", path, resp.StatusCode, out)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		c.t.Fatalf("POST %s: %v: %s", path, err, out)
	}
	return m
}

// ok requires code 0 and returns the data.
func (c *client) ok(path string, body any) any {
	c.t.Helper()
	m := c.post(path, body)
	if m["code"] != json.Number("0") {
		c.t.Fatalf("POST %s %v: %v", path, body, m)
	}
	return m["data"]
}

// fails requires the given Milvus code.
func (c *client) fails(path string, body any, code string) {
	c.t.Helper()
	m := c.post(path, body)
	if m["code"] != json.Number(code) {
		c.t.Fatalf("POST %s %v: %v, want code %s", path, body, m, code)
	}
}

func (c *client) rows(path string, body any) []map[string]any {
	c.t.Helper()
	list := c.ok(path, body).([]any)
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = r.(map[string]any)
	}
	return out
}

func (c *client) waitLoaded(collection string) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st := c.ok("/collections/get_load_state", map[string]any{"collectionName": collection}).(map[string]any)
		if st["loadState"] == "LoadStateLoaded" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not loaded: %v", collection, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func num(v any) float64 {
	f, _ := v.(json.Number).Float64()
	return f
}

func TestAPI(t *testing.T) {
	c := &client{t: t, base: startStandalone(t)}

	t.Run("schema", func(t *testing.T) {
		c := &client{t: t, base: c.base}
		c.ok("/collections/create", map[string]any{
			"collectionName": "full",
			"schema": map[string]any{"autoID": false, "enableDynamicField": true, "fields": []map[string]any{
				{"fieldName": "pk", "dataType": "VarChar", "isPrimary": true, "elementTypeParams": map[string]any{"max_length": 64}},
				{"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 2}},
				{"fieldName": "sp", "dataType": "SparseFloatVector"},
				{"fieldName": "big", "dataType": "Int64"},
				{"fieldName": "tags", "dataType": "Array", "elementDataType": "VarChar", "elementTypeParams": map[string]any{"max_capacity": 4, "max_length": 8}},
				{"fieldName": "meta", "dataType": "JSON"},
				{"fieldName": "note", "dataType": "VarChar", "nullable": true, "elementTypeParams": map[string]any{"max_length": 16}},
				{"fieldName": "level", "dataType": "Int32", "defaultValue": 3},
			}},
			"indexParams": []map[string]any{
				{"fieldName": "vec", "indexName": "vec_idx", "metricType": "IP", "indexType": "HNSW", "params": map[string]any{"M": 8, "efConstruction": 64}},
				{"fieldName": "sp", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"},
			},
			"params": map[string]any{"consistencyLevel": "Strong"},
		})
		c.waitLoaded("full")
		desc := c.ok("/collections/describe", map[string]any{"collectionName": "full"}).(map[string]any)
		if desc["consistencyLevel"] != "Strong" || len(desc["fields"].([]any)) != 8 || len(desc["indexes"].([]any)) != 2 {
			t.Fatalf("describe: %v", desc)
		}
		ins := c.ok("/entities/insert", map[string]any{"collectionName": "full", "data": []map[string]any{
			{"pk": "a", "vec": []float32{1, 0}, "sp": map[string]float32{"1": 1}, "big": int64(1) << 60, "tags": []string{"x"}, "meta": map[string]any{"k": 1}, "note": "hi", "extra": true},
			{"pk": "b", "vec": []float32{0, 1}, "sp": map[string]float32{"2": 1}, "big": 2, "tags": []string{}, "meta": []int{1}},
		}}).(map[string]any)
		if num(ins["insertCount"]) != 2 {
			t.Fatalf("insert: %v", ins)
		}
		rows := c.rows("/entities/query", map[string]any{"collectionName": "full", "filter": `pk in ["a", "b"]`, "outputFields": []string{"*"}})
		if len(rows) != 2 || rows[0]["big"] != json.Number("1152921504606846976") || rows[0]["extra"] != true ||
			rows[1]["note"] != nil || rows[1]["level"] != json.Number("3") || rows[0]["tags"].([]any)[0] != "x" {
			t.Fatalf("query *: %v", rows)
		}
		// Int64 as strings for JavaScript clients.
		js := &client{t: t, base: c.base, header: map[string]string{"Accept-Type-Allow-Int64": "false"}}
		rows = js.rows("/entities/get", map[string]any{"collectionName": "full", "id": "a", "outputFields": []string{"big"}})
		if len(rows) != 1 || rows[0]["big"] != "1152921504606846976" {
			t.Fatalf("get with int64 as strings: %v", rows)
		}
		hits := c.rows("/entities/search", map[string]any{"collectionName": "full", "annsField": "sp", "data": []any{map[string]float32{"2": 1}}, "limit": 1})
		if len(hits) != 1 || hits[0]["pk"] != "b" {
			t.Fatalf("sparse search: %v", hits)
		}
		hits = c.rows("/entities/search", map[string]any{"collectionName": "full", "annsField": "vec", "data": [][]float32{{1, 0}, {0, 1}},
			"limit": 1, "filter": "big < {max}", "exprParams": map[string]any{"max": 10}, "searchParams": map[string]any{"params": map[string]any{"ef": 32}}})
		if len(hits) != 2 || hits[0]["pk"] != "b" || hits[1]["pk"] != "b" {
			t.Fatalf("two-query filtered search: %v", hits)
		}
		up := c.ok("/entities/upsert", map[string]any{"collectionName": "full", "data": []map[string]any{
			{"pk": "b", "vec": []float32{0, 1}, "sp": map[string]float32{"2": 1}, "big": 20, "tags": []string{}, "meta": map[string]any{}},
		}})
		if num(up.(map[string]any)["upsertCount"]) != 1 {
			t.Fatalf("upsert: %v", up)
		}
		c.fails("/entities/upsert", map[string]any{"collectionName": "full", "data": []map[string]any{{"pk": "b"}}}, "1804")
		rows = c.rows("/entities/get", map[string]any{"collectionName": "full", "id": []string{"b"}, "outputFields": []string{"big"}})
		if len(rows) != 1 || rows[0]["big"] != json.Number("20") {
			t.Fatalf("after upsert: %v", rows)
		}
		c.ok("/entities/delete", map[string]any{"collectionName": "full", "filter": `pk == "a"`})
		if n := c.rows("/entities/query", map[string]any{"collectionName": "full", "outputFields": []string{"count(*)"}}); n[0]["count(*)"] != json.Number("1") {
			t.Fatalf("count after delete: %v", n)
		}
		if s := c.ok("/collections/get_stats", map[string]any{"collectionName": "full"}).(map[string]any); s["rowCount"] == nil {
			t.Fatalf("stats: %v", s)
		}
		// Milvus's convertRange reads a VarChar key that is not a string as
		// "" (gjson's Str): no error, no row.
		if n := c.rows("/entities/get", map[string]any{"collectionName": "full", "id": 5}); len(n) != 0 {
			t.Fatalf("get of a number key in a VarChar collection: %v", n)
		}
		c.ok("/collections/alter_properties", map[string]any{"collectionName": "full", "properties": map[string]any{"collection.ttl.seconds": 3600}})
		// Every collection has a "timezone" property (Milvus sets it at creation).
		withoutZone := func(props []any) []any {
			var out []any
			for _, p := range props {
				if p.(map[string]any)["key"] != "timezone" {
					out = append(out, p)
				}
			}
			return out
		}
		props := withoutZone(c.ok("/collections/describe", map[string]any{"collectionName": "full"}).(map[string]any)["properties"].([]any))
		if len(props) != 1 || props[0].(map[string]any)["value"] != "3600" {
			t.Fatalf("properties after alter: %v", props)
		}
		c.ok("/collections/drop_properties", map[string]any{"collectionName": "full", "propertyKeys": []string{"collection.ttl.seconds"}})
		props = withoutZone(c.ok("/collections/describe", map[string]any{"collectionName": "full"}).(map[string]any)["properties"].([]any))
		if len(props) != 0 {
			t.Fatalf("properties after drop: %v", props)
		}
	})

	t.Run("autoID", func(t *testing.T) {
		c := &client{t: t, base: c.base}
		c.ok("/collections/create", map[string]any{"collectionName": "auto", "dimension": 2, "autoID": true, "idType": "Int64"})
		c.waitLoaded("auto")
		ins := c.ok("/entities/insert", map[string]any{"collectionName": "auto", "data": []map[string]any{{"vector": []float32{1, 2}}, {"vector": []float32{3, 4}}}}).(map[string]any)
		if ids := ins["insertIds"].([]any); len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("auto ids: %v", ins)
		}
		c.fails("/collections/create", map[string]any{"collectionName": "auto2"}, "1100") // handler_v2.go:1820: WrapErrParameterInvalid
		c.fails("/collections/create", map[string]any{"collectionName": "auto2", "dimension": 2, "idType": "Float"}, "1100")
	})

	t.Run("indexes and partitions", func(t *testing.T) {
		c := &client{t: t, base: c.base}
		c.ok("/collections/create", map[string]any{"collectionName": "parts", "dimension": 2})
		c.waitLoaded("parts")
		if names := c.ok("/indexes/list", map[string]any{"collectionName": "parts"}).([]any); len(names) != 1 || names[0] != "vector" {
			t.Fatalf("indexes: %v", names)
		}
		d := c.ok("/indexes/describe", map[string]any{"collectionName": "parts", "indexName": "vector"}).([]any)
		if d[0].(map[string]any)["metricType"] != "COSINE" {
			t.Fatalf("index describe: %v", d)
		}
		c.ok("/partitions/create", map[string]any{"collectionName": "parts", "partitionName": "p1"})
		if has := c.ok("/partitions/has", map[string]any{"collectionName": "parts", "partitionName": "p1"}).(map[string]any); has["has"] != true {
			t.Fatalf("has partition: %v", has)
		}
		if names := c.ok("/partitions/list", map[string]any{"collectionName": "parts"}).([]any); len(names) != 2 {
			t.Fatalf("partitions: %v", names)
		}
		c.ok("/entities/insert", map[string]any{"collectionName": "parts", "partitionName": "p1", "data": []map[string]any{{"id": 1, "vector": []float32{1, 1}}}})
		c.ok("/partitions/get_stats", map[string]any{"collectionName": "parts", "partitionName": "p1"})
		c.ok("/collections/release", map[string]any{"collectionName": "parts"})
		if st := c.ok("/collections/get_load_state", map[string]any{"collectionName": "parts"}).(map[string]any); st["loadState"] != "LoadStateNotLoad" {
			t.Fatalf("after release: %v", st)
		}
		c.fails("/entities/query", map[string]any{"collectionName": "parts", "filter": "id > 0"}, "101")
		c.ok("/partitions/load", map[string]any{"collectionName": "parts", "partitionNames": []string{"p1"}})
		c.ok("/partitions/release", map[string]any{"collectionName": "parts", "partitionNames": []string{"p1"}})
		c.ok("/partitions/drop", map[string]any{"collectionName": "parts", "partitionName": "p1"})
		c.ok("/indexes/drop", map[string]any{"collectionName": "parts", "indexName": "vector"})
		c.ok("/indexes/create", map[string]any{"collectionName": "parts", "indexParams": []map[string]any{{"fieldName": "vector", "indexName": "v2", "metricType": "L2"}}})
		c.ok("/collections/load", map[string]any{"collectionName": "parts"})
		c.waitLoaded("parts")
		c.fails("/partitions/create", map[string]any{"collectionName": "parts"}, "1802")
	})

	t.Run("databases and aliases", func(t *testing.T) {
		c := &client{t: t, base: c.base}
		c.ok("/databases/create", map[string]any{"dbName": "db1", "properties": map[string]any{"database.replica.number": 1}})
		if names := c.ok("/databases/list", map[string]any{}).([]any); len(names) != 2 {
			t.Fatalf("databases: %v", names)
		}
		if d := c.ok("/databases/describe", map[string]any{"dbName": "db1"}).(map[string]any); d["dbName"] != "db1" {
			t.Fatalf("describe db: %v", d)
		}
		c.ok("/collections/create", map[string]any{"dbName": "db1", "collectionName": "in_db1", "dimension": 2})
		inDB := &client{t: t, base: c.base, header: map[string]string{"DB-Name": "db1"}}
		if names := inDB.ok("/collections/list", map[string]any{}).([]any); len(names) != 1 || names[0] != "in_db1" {
			t.Fatalf("collections of db1 by header: %v", names)
		}
		inDB.ok("/aliases/create", map[string]any{"collectionName": "in_db1", "aliasName": "al"})
		if names := inDB.ok("/aliases/list", map[string]any{}).([]any); len(names) != 1 {
			t.Fatalf("aliases: %v", names)
		}
		if d := inDB.ok("/aliases/describe", map[string]any{"aliasName": "al"}).(map[string]any); d["collectionName"] != "in_db1" {
			t.Fatalf("describe alias: %v", d)
		}
		inDB.ok("/collections/create", map[string]any{"collectionName": "other", "dimension": 2})
		inDB.ok("/aliases/alter", map[string]any{"collectionName": "other", "aliasName": "al"})
		if d := inDB.ok("/collections/describe", map[string]any{"collectionName": "al"}).(map[string]any); d["collectionName"] != "other" {
			t.Fatalf("describe by alias: %v", d)
		}
		inDB.ok("/aliases/drop", map[string]any{"aliasName": "al"})
		inDB.fails("/aliases/describe", map[string]any{"aliasName": "al"}, "1600")
		c.fails("/collections/list", map[string]any{"dbName": "nope"}, "800")
		inDB.ok("/collections/drop", map[string]any{"collectionName": "in_db1"})
		inDB.ok("/collections/drop", map[string]any{"collectionName": "other"})
		c.ok("/databases/drop", map[string]any{"dbName": "db1"})
	})
}
