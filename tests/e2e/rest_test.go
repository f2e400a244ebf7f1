package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// restPost sends one RESTful API v2 request to base (http://host:port) and
// decodes the answer, which must be HTTP 200 JSON.
func restPost(t *testing.T, base, path string, body any) map[string]any {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, base+"/v2/vectordb"+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer root:Milvus")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d: %s", path, resp.StatusCode, out)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, out)
	}
	return m
}

// restOK is restPost that requires code 0 and returns the data.
func restOK(t *testing.T, base, path string, body any) any {
	t.Helper()
	m := restPost(t, base, path, body)
	if c := restCode(m); c != 0 {
		t.Fatalf("POST %s: code %d: %v", path, c, m["message"])
	}
	return m["data"]
}

func restCode(m map[string]any) int64 {
	n, _ := m["code"].(json.Number).Int64()
	return n
}

func restWantCode(t *testing.T, base, path string, body any, want int64) {
	t.Helper()
	m := restPost(t, base, path, body)
	if c := restCode(m); c != want {
		t.Fatalf("POST %s: code %d (%v), want %d", path, c, m["message"], want)
	}
	if m["message"] == "" {
		t.Fatalf("POST %s: error without a message", path)
	}
}

func restRows(t *testing.T, data any) []map[string]any {
	t.Helper()
	list, ok := data.([]any)
	if !ok {
		t.Fatalf("data is %T, want an array", data)
	}
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = r.(map[string]any)
	}
	return out
}

func restInt(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestRESTQuickstart drives the RESTful API's quickstart on the gRPC port
// while the Go SDK uses the same port.
func TestRESTQuickstart(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr
	ctx := testContext(t)
	cli := srv.client(t) // the SDK connects first and stays connected

	// Meanwhile a second SDK client keeps calling on the same port.
	busy := srv.client(t)
	stop, sdkDone := make(chan struct{}), make(chan error, 1)
	sdkCalls := 0
	go func() {
		for {
			select {
			case <-stop:
				sdkDone <- nil
				return
			default:
			}
			if _, err := busy.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil {
				sdkDone <- err
				return
			}
			sdkCalls++
		}
	}()

	restOK(t, base, "/collections/create", map[string]any{"collectionName": "rest_qs", "dimension": 4, "metricType": "L2"})
	deadline := time.Now().Add(time.Minute)
	for {
		st := restOK(t, base, "/collections/get_load_state", map[string]any{"collectionName": "rest_qs"}).(map[string]any)
		if st["loadState"] == "LoadStateLoaded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not loaded: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}

	rows := []map[string]any{
		{"id": 1, "vector": []float32{0, 0, 0, 1}, "color": "red", "n": 10},
		{"id": 2, "vector": []float32{0, 0, 1, 0}, "color": "blue", "n": 20},
		{"id": 3, "vector": []float32{0, 1, 0, 0}, "color": "red", "n": 30},
		{"id": 4, "vector": []float32{1, 0, 0, 0}, "color": "green"},
		{"id": 5, "vector": []float32{1, 1, 1, 1}, "color": "red", "n": 50},
	}
	ins := restOK(t, base, "/entities/insert", map[string]any{"collectionName": "rest_qs", "data": rows}).(map[string]any)
	if restInt(t, ins["insertCount"]) != 5 || len(ins["insertIds"].([]any)) != 5 {
		t.Fatalf("insert: %v", ins)
	}

	// The SDK sees the REST collection and its rows on the same port.
	res, err := cli.Query(ctx, strong(milvusclient.NewQueryOption("rest_qs").WithFilter("id > 0").
		WithOutputFields("count(*)")))
	if err != nil {
		t.Fatalf("SDK query: %v", err)
	}
	if n, _ := res.GetColumn("count(*)").GetAsInt64(0); n != 5 {
		t.Fatalf("SDK count(*) = %d, want 5", n)
	}

	hits := restRows(t, restOK(t, base, "/entities/search", map[string]any{"collectionName": "rest_qs",
		"data": [][]float32{{0, 0, 0, 0.9}}, "limit": 3, "outputFields": []string{"color", "n"}, "consistencyLevel": "Strong"}))
	if len(hits) != 3 || restInt(t, hits[0]["id"]) != 1 || hits[0]["color"] != "red" || restInt(t, hits[0]["n"]) != 10 {
		t.Fatalf("search hits: %v", hits)
	}
	if _, ok := hits[0]["distance"]; !ok {
		t.Fatalf("search hit without distance: %v", hits[0])
	}

	red := restRows(t, restOK(t, base, "/entities/query", map[string]any{"collectionName": "rest_qs",
		"filter": `color == "red" and n > 15`, "outputFields": []string{"id", "color"}, "consistencyLevel": "Strong"}))
	if len(red) != 2 || restInt(t, red[0]["id"]) != 3 || restInt(t, red[1]["id"]) != 5 {
		t.Fatalf("query: %v", red)
	}

	got := restRows(t, restOK(t, base, "/entities/get", map[string]any{"collectionName": "rest_qs", "id": []int{2, 4}, "consistencyLevel": "Strong"}))
	if len(got) != 2 || got[1]["color"] != "green" || len(got[0]["vector"].([]any)) != 4 {
		t.Fatalf("get: %v", got)
	}
	if _, ok := got[1]["n"]; ok {
		t.Fatalf("row 4 has no n, got %v", got[1])
	}

	restOK(t, base, "/entities/delete", map[string]any{"collectionName": "rest_qs", "filter": "id in [1, 2]"})
	count := restRows(t, restOK(t, base, "/entities/query", map[string]any{"collectionName": "rest_qs",
		"filter": "", "outputFields": []string{"count(*)"}, "consistencyLevel": "Strong"}))
	if len(count) != 1 || restInt(t, count[0]["count(*)"]) != 3 {
		t.Fatalf("count after delete: %v", count)
	}

	desc := restOK(t, base, "/collections/describe", map[string]any{"collectionName": "rest_qs"}).(map[string]any)
	if desc["enableDynamicField"] != true || desc["load"] != "LoadStateLoaded" || len(desc["fields"].([]any)) != 2 {
		t.Fatalf("describe: %v", desc)
	}
	idx := desc["indexes"].([]any)
	if len(idx) != 1 || idx[0].(map[string]any)["metricType"] != "L2" {
		t.Fatalf("describe indexes: %v", idx)
	}

	// Errors carry Milvus codes with HTTP 200.
	restWantCode(t, base, "/collections/describe", `{"collectionName": "rest_qs"`, 1801)
	restWantCode(t, base, "/collections/describe", map[string]any{}, 1802)
	restWantCode(t, base, "/collections/describe", map[string]any{"collectionName": "nope"}, 100)
	restWantCode(t, base, "/entities/insert", map[string]any{"collectionName": "nope", "data": rows}, 100)
	restWantCode(t, base, "/entities/insert", map[string]any{"collectionName": "rest_qs",
		"data": []map[string]any{{"id": 9, "vector": []float32{1, 2, 3}}}}, 1804)
	m := restPost(t, base, "/entities/search", map[string]any{"collectionName": "rest_qs", "data": [][]float32{{1, 2, 3}}})
	if restCode(m) == 0 {
		t.Fatalf("search with a wrong dimension: %v", m)
	}

	// REST requests are counted with the gRPC ones.
	mresp, err := http.Get(srv.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`milvago_proxy_requests_total{code="ok",method="rest/entities/search"}`,
		`milvago_proxy_requests_total{code="100",method="rest/collections/describe"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	restOK(t, base, "/collections/drop", map[string]any{"collectionName": "rest_qs"})
	if has := restOK(t, base, "/collections/has", map[string]any{"collectionName": "rest_qs"}).(map[string]any); has["has"] != false {
		t.Fatalf("has after drop: %v", has)
	}
	close(stop)
	if err := <-sdkDone; err != nil || sdkCalls == 0 {
		t.Fatalf("concurrent SDK calls: %d, %v", sdkCalls, err)
	}
	// The SDK connection made before all this still works.
	names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if err != nil {
		t.Fatalf("SDK list after REST: %v", err)
	}
	for _, n := range names {
		if n == "rest_qs" {
			t.Fatalf("SDK still lists the dropped collection: %v", names)
		}
	}
}

// TestRESTNotFoundAndMethod checks the answers outside the API's paths.
func TestRESTNotFoundAndMethod(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr
	resp, err := http.Get(base + "/v2/vectordb/collections/list")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET: HTTP %d, want 404 (Milvus's gin router does not answer 405)", resp.StatusCode)
	}
	resp, err = http.Post(base+"/v2/vectordb/nothing/here", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: HTTP %d, want 404", resp.StatusCode)
	}
	if names := restOK(t, base, "/collections/list", nil); len(names.([]any)) != 0 {
		t.Fatalf("list: %v", names)
	}
}

// restNodeScript drives the REST API with the Node SDK's HttpClient.
const restNodeScript = `
const { HttpClient } = require('@zilliz/milvus2-sdk-node');
const c = new HttpClient({ endpoint: 'http://' + process.argv[2], username: 'root', password: 'Milvus' });
const must = (r, what) => { if (r.code !== 0) { throw new Error(what + ': ' + JSON.stringify(r)); } return r; };
(async () => {
  must(await c.createCollection({ collectionName: 'nd', dimension: 4, metricType: 'L2' }), 'create');
  for (let i = 0; ; i++) {
    const st = must(await c.getCollectionLoadState({ collectionName: 'nd' }), 'load state');
    if (st.data.loadState === 'LoadStateLoaded') break;
    if (i > 3000) throw new Error('not loaded');
    await new Promise(r => setTimeout(r, 20));
  }
  const ins = must(await c.insert({ collectionName: 'nd', data: [
    { id: 1, vector: [0, 0, 0, 1], color: 'red' }, { id: 2, vector: [0, 0, 1, 0], color: 'blue' }] }), 'insert');
  if (ins.data.insertCount !== 2 || ins.data.insertIds[0] !== '1') throw new Error('insert ' + JSON.stringify(ins));
  const s = must(await c.search({ collectionName: 'nd', data: [[0, 0, 0, 1]], limit: 2, outputFields: ['color'], consistencyLevel: 'Strong' }), 'search');
  if (s.data.length !== 2 || s.data[0].color !== 'red' || s.data[0].id !== '1') throw new Error('search ' + JSON.stringify(s));
  const q = must(await c.query({ collectionName: 'nd', filter: 'color == "blue"', outputFields: ['*'], consistencyLevel: 'Strong' }), 'query');
  if (q.data.length !== 1 || q.data[0].id !== '2' || q.data[0].vector.length !== 4) throw new Error('query ' + JSON.stringify(q));
  must(await c.delete({ collectionName: 'nd', filter: 'id in [1]' }), 'delete');
  const bad = await c.describeCollection({ collectionName: 'nope' });
  if (bad.code !== 100) throw new Error('describe unknown ' + JSON.stringify(bad));
  must(await c.dropCollection({ collectionName: 'nd' }), 'drop');
  console.log('REST NODE OK');
})().catch(e => { console.error(e); process.exit(1); });
`

// TestRESTNodeHttpClient drives the REST API on the gRPC port with the
// official Node SDK's HttpClient (installed in tests/node; skipped without
// Node.js or the SDK).
func TestRESTNodeHttpClient(t *testing.T) {
	nodeSDK(t)
	script := filepath.Join(t.TempDir(), "rest.js")
	if err := os.WriteFile(script, []byte(restNodeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "")
	runNodeScript(t, 2*time.Minute, "REST NODE OK", script, srv.addr)
}
