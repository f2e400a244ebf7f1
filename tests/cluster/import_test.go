//go:build linux

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/objstore"
)

// TestClusterImport bulk-imports a JSON and a CSV file from the
// deployment's S3 bucket through a proxy's REST API: the proxy creates the
// job on the data coordinator, which has the data node read the files and
// write sealed segments; the imported rows reach the loaded collection.
func TestClusterImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy-1"))
	const name, inserted = "imported", 100
	flow(t, ctx, cli, name, inserted) // ids 0-99, loaded

	// The files go where the roles read objects: bucket milvago, under
	// minio.rootPath's default prefix.
	store, err := objstore.NewS3(ctx, objstore.S3Config{Endpoint: c.S3.Endpoint, Region: c.S3.Region, Bucket: "milvago",
		AccessKey: c.S3.AccessKey, SecretKey: c.S3.SecretKey, RootPath: "milvago", CreateBucket: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var js strings.Builder
	js.WriteString(`{"rows": [`)
	for i := range 100 { // ids 1000-1099, tag "json"
		if i > 0 {
			js.WriteString(",")
		}
		fmt.Fprintf(&js, `{"id": %d, "tag": "json", "v": [%s]}`, 1000+i, vec(i))
	}
	js.WriteString("]}")
	var csv strings.Builder
	csv.WriteString("id,tag,v\n")
	for i := range 50 { // ids 2000-2049, tag "csv"
		fmt.Fprintf(&csv, "%d,csv,\"[%s]\"\n", 2000+i, vec(i))
	}
	if err := store.Put(ctx, "imports/rows.json", []byte(js.String())); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "imports/rows.csv", []byte(csv.String())); err != nil {
		t.Fatal(err)
	}

	base := "http://" + c.ProxyAddr("proxy-1")
	d := restData(t, base, "/jobs/import/create", map[string]any{"collectionName": name,
		"files": [][]string{{"imports/rows.json"}, {"imports/rows.csv"}}})
	jobID, _ := d["jobId"].(string)
	if jobID == "" {
		t.Fatalf("create: %v", d)
	}
	// The job is read through the other proxy.
	other := "http://" + c.ProxyAddr("proxy-2")
	var done map[string]any
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		done = restData(t, other, "/jobs/import/get_progress", map[string]any{"jobId": jobID})
		if s := done["state"]; s == "Completed" || s == "Failed" {
			break
		}
	}
	if done["state"] != "Completed" || fmt.Sprint(done["progress"]) != "100" || fmt.Sprint(done["importedRows"]) != "150" {
		t.Fatalf("job ended %v", done)
	}
	list := restData(t, other, "/jobs/import/list", map[string]any{"collectionName": name})
	if recs, _ := list["records"].([]any); len(recs) != 1 {
		t.Fatalf("list: %v", list)
	}

	// A file that does not fit fails the job with the reader's reason,
	// carried across the data node → datacoord → proxy hops, and adds
	// no row.
	if err := store.Put(ctx, "imports/short.csv", []byte("id,tag,v\n4\n")); err != nil {
		t.Fatal(err)
	}
	bad := restData(t, base, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{"imports/short.csv"}}})
	badID, _ := bad["jobId"].(string)
	var failed map[string]any
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		failed = restData(t, other, "/jobs/import/get_progress", map[string]any{"jobId": badID})
		if s := failed["state"]; s == "Completed" || s == "Failed" {
			break
		}
	}
	if reason, _ := failed["reason"].(string); failed["state"] != "Failed" || !strings.Contains(reason, "the number of fields in the row is not equal to the header") {
		t.Fatalf("bad file: job ended %v", failed)
	}

	if got := count(t, ctx, cli, name, ""); got != inserted+150 {
		t.Fatalf("count(*) = %d, want %d", got, inserted+150)
	}
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))
	if got := count(t, ctx, cli2, name, `tag == "csv"`); got != 50 {
		t.Fatalf("csv rows = %d, want 50", got)
	}
	rs, err := cli2.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in [7, 1042, 2049]").
		WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for i := range rs.ResultCount {
		id, _ := rs.GetColumn("id").GetAsInt64(i)
		tag, _ := rs.GetColumn("tag").GetAsString(i)
		got[id] = tag
	}
	if want := map[int64]string{7: "t2", 1042: "json", 2049: "csv"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("query = %v, want %v", got, want)
	}
}

func vec(i int) string {
	parts := make([]string, dim)
	for j := range parts {
		parts[j] = fmt.Sprintf("%g", float32(i%7+j)/10)
	}
	return strings.Join(parts, ",")
}

// restData posts to a proxy's REST API v2 and returns the answer's data,
// failing unless its code is 0.
func restData(t *testing.T, base, path string, body any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/v2/vectordb"+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var m struct {
		Code    int64          `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(out, &m); err != nil || resp.StatusCode != http.StatusOK || m.Code != 0 {
		t.Fatalf("POST %s: HTTP %d: %s (%v)", path, resp.StatusCode, out, err)
	}
	return m.Data
}
