package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/parquet-go/parquet-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// importRow is one row the import files carry: id, a 4-d vector, a
// nullable name, score (default 7 when absent) and a dynamic key.
type importRow struct {
	ID    int64
	Vec   [4]float32
	Name  *string
	Score *int32
	Color string // dynamic
}

func importRows(from, n int) []importRow {
	out := make([]importRow, n)
	for i := range out {
		id := int64(from + i)
		r := importRow{ID: id, Vec: [4]float32{float32(id), 1, 2, 3}, Color: fmt.Sprintf("c%d", id)}
		if id%3 != 0 {
			name := fmt.Sprintf("n%d", id)
			r.Name = &name
		}
		if id%2 == 0 {
			s := int32(id)
			r.Score = &s
		}
		out[i] = r
	}
	return out
}

func (r importRow) jsonObject() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"id": %d, "vec": [%g, %g, %g, %g]`, r.ID, r.Vec[0], r.Vec[1], r.Vec[2], r.Vec[3])
	if r.Name != nil {
		fmt.Fprintf(&b, `, "name": %q`, *r.Name)
	} else {
		b.WriteString(`, "name": null`)
	}
	if r.Score != nil {
		fmt.Fprintf(&b, `, "score": %d`, *r.Score)
	}
	fmt.Fprintf(&b, `, "color": %q}`, r.Color)
	return b.String()
}

func writeObject(t *testing.T, srv *server, key string, data []byte) {
	t.Helper()
	p := filepath.Join(srv.objectsDir(), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// npy encodes a little-endian array in the .npy format (version 1).
func npy(descr string, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func writeImportFiles(t *testing.T, srv *server) [][]string {
	t.Helper()
	// JSON, row-based {"rows": [...]}: ids 0-99.
	var objs []string
	for _, r := range importRows(0, 100) {
		objs = append(objs, r.jsonObject())
	}
	writeObject(t, srv, "bulk/rows.json", []byte(`{"rows": [`+strings.Join(objs, ",\n")+`]}`))
	// JSON, a plain array: ids 100-199.
	objs = objs[:0]
	for _, r := range importRows(100, 100) {
		objs = append(objs, r.jsonObject())
	}
	writeObject(t, srv, "bulk/array.json", []byte("["+strings.Join(objs, ",")+"]"))
	// CSV with a ';' separator and "NULL" as the null key: ids 200-299.
	var csv strings.Builder
	csv.WriteString("id;vec;name;score;$meta\n")
	for _, r := range importRows(200, 100) {
		name, score := "NULL", "NULL"
		if r.Name != nil {
			name = *r.Name
		}
		if r.Score != nil {
			score = fmt.Sprint(*r.Score)
		}
		fmt.Fprintf(&csv, "%d;[%g,%g,%g,%g];%s;%s;\"{\"\"color\"\": \"\"%s\"\"}\"\n", r.ID, r.Vec[0], r.Vec[1], r.Vec[2], r.Vec[3], name, score, r.Color)
	}
	writeObject(t, srv, "bulk/rows.csv", []byte(csv.String()))
	// NumPy, one file per field: ids 300-399 (name and score absent: null
	// and default).
	rows := importRows(300, 100)
	var ids, vecs bytes.Buffer
	for _, r := range rows {
		binary.Write(&ids, binary.LittleEndian, r.ID)
		binary.Write(&vecs, binary.LittleEndian, r.Vec[:])
	}
	writeObject(t, srv, "bulk/npy/id.npy", npy("<i8", []int{100}, ids.Bytes()))
	writeObject(t, srv, "bulk/npy/vec.npy", npy("<f4", []int{100, 4}, vecs.Bytes()))
	// Parquet, as BulkWriter writes it: ids 400-499.
	type pq struct {
		ID    int64     `parquet:"id"`
		Vec   []float32 `parquet:"vec,list"`
		Name  *string   `parquet:"name,optional"`
		Score *int32    `parquet:"score,optional"`
		Meta  string    `parquet:"$meta"`
	}
	var pqRows []pq
	for _, r := range importRows(400, 100) {
		pqRows = append(pqRows, pq{ID: r.ID, Vec: r.Vec[:], Name: r.Name, Score: r.Score, Meta: fmt.Sprintf(`{"color": %q}`, r.Color)})
	}
	var pb bytes.Buffer
	if err := parquet.Write(&pb, pqRows); err != nil {
		t.Fatal(err)
	}
	writeObject(t, srv, "bulk/rows.parquet", pb.Bytes())
	return [][]string{{"bulk/rows.json"}, {"bulk/array.json"}, {"bulk/rows.csv"}, {"bulk/npy/id.npy", "bulk/npy/vec.npy"}, {"bulk/rows.parquet"}}
}

func createImportCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4)).
		WithField(entity.NewField().WithName("name").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64).WithNullable(true)).
		WithField(entity.NewField().WithName("score").WithDataType(entity.FieldTypeInt32).WithDefaultValueInt(7))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)); err != nil {
		t.Fatalf("create collection: %v", err)
	}
}

// waitImport polls get_progress until the job ends and returns its data.
func waitImport(t *testing.T, srv *server, jobID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		d := restOK(t, "http://"+srv.addr, "/jobs/import/get_progress", map[string]any{"jobId": jobID}).(map[string]any)
		if s := d["state"]; s == "Completed" || s == "Failed" {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("import job %s did not end", jobID)
	return nil
}

func TestImportEveryFormat(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "bulk"
	createImportCollection(t, ctx, cli, name)
	files := writeImportFiles(t, srv)

	d := restOK(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": files,
		"options": map[string]string{"sep": ";", "nullkey": "NULL"}}).(map[string]any)
	jobID, _ := d["jobId"].(string)
	if jobID == "" {
		t.Fatalf("create: %v", d)
	}
	done := waitImport(t, srv, jobID)
	if done["state"] != "Completed" || fmt.Sprint(done["progress"]) != "100" || fmt.Sprint(done["importedRows"]) != "500" {
		t.Fatalf("job ended %v", done)
	}
	list := restOK(t, "http://"+srv.addr, "/jobs/import/list", map[string]any{"collectionName": name}).(map[string]any)
	if recs, _ := list["records"].([]any); len(recs) != 1 {
		t.Fatalf("list: %v", list)
	}

	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := rs.GetColumn("count(*)").GetAsInt64(0); n != 500 {
		t.Fatalf("count(*) = %d, want 500", n)
	}
	rs, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("id", "vec", "name", "score", "color").
		WithLimit(1000).WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	if rs.ResultCount != 500 {
		t.Fatalf("query returned %d rows", rs.ResultCount)
	}
	for i := range rs.ResultCount {
		id, _ := rs.GetColumn("id").GetAsInt64(i)
		want := importRows(int(id), 1)[0]
		if id >= 300 && id < 400 { // NumPy group: name and score not given
			want.Name, want.Score = nil, nil
			want.Color = ""
		}
		nameNull, _ := rs.GetColumn("name").IsNull(i)
		nameVal, _ := rs.GetColumn("name").GetAsString(i)
		if (want.Name == nil) != nameNull || (want.Name != nil && *want.Name != nameVal) {
			t.Fatalf("id %d: name %q null=%v, want %v", id, nameVal, nameNull, want.Name)
		}
		score, _ := rs.GetColumn("score").GetAsInt64(i)
		wantScore := int64(7)
		if want.Score != nil {
			wantScore = int64(*want.Score)
		}
		if score != wantScore {
			t.Fatalf("id %d: score %d, want %d", id, score, wantScore)
		}
		color, _ := rs.GetColumn("color").GetAsString(i)
		if color != want.Color {
			t.Fatalf("id %d: color %q, want %q", id, color, want.Color)
		}
		v, _ := rs.GetColumn("vec").Get(i)
		fv, _ := v.(entity.FloatVector)
		if len(fv) != 4 || fv[0] != float32(id) || fv[3] != 3 {
			t.Fatalf("id %d: vec %v", id, v)
		}
	}
	// Rows are searchable too.
	sr, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector{250, 1, 2, 3}}).
		WithANNSField("vec").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := sr[0].IDs.GetAsInt64(0); id != 250 || math.Abs(float64(sr[0].Scores[0])) > 1e-6 {
		t.Fatalf("search found %d (%v)", id, sr[0].Scores)
	}
}

func TestImportBadFilesFailCleanly(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "bulk_bad"
	createImportCollection(t, ctx, cli, name)
	writeObject(t, srv, "bad/good.json", []byte(`[{"id": 1, "vec": [1,2,3,4]}]`))
	writeObject(t, srv, "bad/missing.json", []byte(`[{"id": 2, "name": "x"}]`))
	writeObject(t, srv, "bad/notjson.json", []byte(`{"rows": [{"id": 3,`))
	writeObject(t, srv, "bad/short.csv", []byte("id,vec\n4\n"))
	before := objectFiles(t, srv)
	for _, tc := range []struct {
		files [][]string
		want  string
	}{
		{[][]string{{"bad/good.json"}, {"bad/missing.json"}}, "value of field 'vec' is missed"},
		{[][]string{{"bad/notjson.json"}}, "failed to parse JSON file"},
		{[][]string{{"bad/short.csv"}}, "the number of fields in the row is not equal to the header"},
		{[][]string{{"bad/absent.json"}}, "not found"},
	} {
		d := restOK(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": tc.files}).(map[string]any)
		done := waitImport(t, srv, d["jobId"].(string))
		if done["state"] != "Failed" || !strings.Contains(fmt.Sprint(done["reason"]), tc.want) {
			t.Fatalf("%v: job ended %v, want Failed with %q", tc.files, done, tc.want)
		}
	}
	// A failed job leaves no file and no segment behind.
	if after := objectFiles(t, srv); len(after) != len(before) {
		t.Fatalf("object store had %d files, has %d: %v", len(before), len(after), after)
	}
	stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
	if err != nil {
		t.Fatal(err)
	}
	if stats["row_count"] != "0" {
		t.Fatalf("row_count = %s after failed imports", stats["row_count"])
	}
	// Requests Milvus refuses up front.
	m := restPost(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{"a.txt"}}})
	if fmt.Sprint(m["code"]) != "2100" || !strings.Contains(fmt.Sprint(m["message"]), "unexpected file type") {
		t.Fatalf("bad extension: %v", m)
	}
	m = restPost(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{}})
	if fmt.Sprint(m["code"]) != "1100" || !strings.Contains(fmt.Sprint(m["message"]), "import request is empty") {
		t.Fatalf("no files: %v", m)
	}
	m = restPost(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": "nope", "files": [][]string{{"bad/good.json"}}})
	if fmt.Sprint(m["code"]) != "100" {
		t.Fatalf("unknown collection: %v", m)
	}
	m = restPost(t, "http://"+srv.addr, "/jobs/import/get_progress", map[string]any{"jobId": "12345"})
	if fmt.Sprint(m["code"]) != "2101" || !strings.Contains(fmt.Sprint(m["message"]), "import job does not exist") {
		t.Fatalf("unknown job: %v", m)
	}
}

func objectFiles(t *testing.T, srv *server) []string {
	t.Helper()
	var out []string
	root := srv.objectsDir()
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestImportGRPC drives the v1 gRPC calls (Import, GetImportState,
// ListImportTasks) as pymilvus's utility.do_bulk_insert does.
func TestImportGRPC(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "bulk_grpc"
	createImportCollection(t, ctx, cli, name)
	writeObject(t, srv, "g/rows.json", []byte(`{"rows": [{"id": 1, "vec": [1,2,3,4], "name": "a"}, {"id": 2, "vec": [2,2,3,4], "k": 5}]}`))
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mc := milvuspb.NewMilvusServiceClient(conn)
	resp, err := mc.Import(ctx, &milvuspb.ImportRequest{CollectionName: name, Files: []string{"g/rows.json"}})
	if err != nil || resp.GetStatus().GetCode() != 0 || len(resp.GetTasks()) != 1 {
		t.Fatalf("Import = %v, %v", resp, err)
	}
	deadline := time.Now().Add(time.Minute)
	var st *milvuspb.GetImportStateResponse
	for time.Now().Before(deadline) {
		st, err = mc.GetImportState(ctx, &milvuspb.GetImportStateRequest{Task: resp.GetTasks()[0]})
		if err != nil {
			t.Fatal(err)
		}
		if st.GetState() == commonpb.ImportState_ImportCompleted || st.GetState() == commonpb.ImportState_ImportFailed {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.GetState() != commonpb.ImportState_ImportCompleted || st.GetRowCount() != 2 {
		t.Fatalf("GetImportState = %v", st)
	}
	ls, err := mc.ListImportTasks(ctx, &milvuspb.ListImportTasksRequest{CollectionName: name})
	if err != nil || len(ls.GetTasks()) != 1 {
		t.Fatalf("ListImportTasks = %v, %v", ls, err)
	}
	stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
	if err != nil || stats["row_count"] != "2" {
		t.Fatalf("row_count = %v, %v", stats, err)
	}
}

// TestImportIntoLoadedCollection imports into a collection that is loaded
// and has inserted rows: the imported segments are handed to the query
// node as flushed segments, and later deletes hide imported rows.
func TestImportIntoLoadedCollection(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "bulk_loaded"
	createImportCollection(t, ctx, cli, name)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1000, 1001}).
		WithFloatVectorColumn("vec", 4, [][]float32{{1, 1, 1, 1}, {2, 2, 2, 2}})); err != nil {
		t.Fatal(err)
	}
	var objs []string
	for _, r := range importRows(0, 50) {
		objs = append(objs, r.jsonObject())
	}
	writeObject(t, srv, "l/rows.json", []byte("["+strings.Join(objs, ",")+"]"))
	d := restOK(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{"l/rows.json"}}}).(map[string]any)
	if done := waitImport(t, srv, d["jobId"].(string)); done["state"] != "Completed" {
		t.Fatalf("job ended %v", done)
	}
	count := func() int64 {
		t.Helper()
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := rs.GetColumn("count(*)").GetAsInt64(0)
		return n
	}
	// Completed means handed off: a Strong read sees the rows at once.
	if n := count(); n != 52 {
		t.Fatalf("count(*) = %d, want 52", n)
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id < 10")); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 42 {
		t.Fatalf("count(*) after deleting 10 imported rows = %d, want 42", n)
	}
}
