package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestQuickstartFlow is the Milvus quickstart through the SDK's quick-setup
// path: SimpleCreateCollectionOptions (auto-ID Int64 "id", "vector",
// dynamic fields, AUTOINDEX with COSINE, loaded on creation), row-based
// inserts whose extra keys land in $meta, search and query filtering on
// and returning dynamic keys, delete by a filter on a dynamic key.
func TestQuickstartFlow(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "quick_setup", 5, 300

	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim)))
	st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
	if err != nil || st.State != entity.LoadStateLoaded {
		t.Fatalf("load state after quick setup = %v, %v; want loaded", st, err)
	}
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	if !coll.Schema.EnableDynamicField || coll.Schema.PKFieldName() != "id" || !coll.Schema.PKField().AutoID {
		t.Fatalf("quick-setup schema: dynamic %v pk %q auto %v", coll.Schema.EnableDynamicField, coll.Schema.PKFieldName(), coll.Schema.PKField().AutoID)
	}
	idx, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, "vector"))
	must(t, err)
	if p := idx.Params(); p["metric_type"] != "COSINE" || p["index_type"] != "AUTOINDEX" {
		t.Fatalf("quick-setup index params %v, want AUTOINDEX/COSINE", p)
	}

	colors := []string{"red", "green", "blue", "purple", "pink"}
	r := rand.New(rand.NewPCG(7, 7))
	rows := make([]any, n)
	vecs := randomVectors(r, n, dim)
	type info struct {
		color string
		likes int64
	}
	var infos []info
	for i := range rows {
		c := colors[i%len(colors)]
		likes := int64(r.IntN(100))
		infos = append(infos, info{c, likes})
		row := map[string]any{"vector": vecs[i], "color": c, "likes": likes}
		if i%10 == 0 {
			row["tag"] = map[string]any{"n": i} // a nested JSON value
		}
		rows[i] = row
	}
	res, err := cli.Insert(ctx, milvusclient.NewRowBasedInsertOption(name, rows...))
	if err != nil {
		t.Fatalf("row-based insert: %v", err)
	}
	if res.InsertCount != n || res.IDs.Len() != n {
		t.Fatalf("insert result: count %d ids %d", res.InsertCount, res.IDs.Len())
	}
	autoIDs := res.IDs.(*column.ColumnInt64).Data()
	byID := map[int64]int{}
	for i, id := range autoIDs {
		if _, dup := byID[id]; dup {
			t.Fatalf("auto ID %d given twice", id)
		}
		byID[id] = i
	}

	// Search with a filter on a dynamic key, returning dynamic keys.
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{entity.FloatVector(vecs[0])}).
		WithFilter(`color == "red"`).WithOutputFields("color", "likes").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("search with dynamic filter: %v", err)
	}
	got := ids(t, rs[0])
	if len(got) != 5 || got[0] != autoIDs[0] {
		t.Fatalf("search: ids %v, want 5 starting with %d", got, autoIDs[0])
	}
	if !near(rs[0].Scores[0], 1) {
		t.Fatalf("COSINE self-similarity %v, want 1", rs[0].Scores[0])
	}
	for i := 1; i < len(rs[0].Scores); i++ {
		if rs[0].Scores[i] > rs[0].Scores[i-1] {
			t.Fatalf("COSINE scores not descending: %v", rs[0].Scores)
		}
	}
	colorCol, likesCol := rs[0].GetColumn("color"), rs[0].GetColumn("likes")
	if colorCol == nil || likesCol == nil {
		t.Fatalf("search output lacks dynamic keys: %v", columnNames(rs[0]))
	}
	for i, id := range got {
		c, err := colorCol.GetAsString(i)
		if err != nil || c != "red" || infos[byID[id]].color != "red" {
			t.Fatalf("hit %d: color %q, %v", id, c, err)
		}
		l, err := likesCol.GetAsInt64(i)
		if err != nil || l != infos[byID[id]].likes {
			t.Fatalf("hit %d: likes %v, %v; want %d", id, l, err, infos[byID[id]].likes)
		}
	}

	// Query on a dynamic key, with the dynamic key and a whole-$meta output.
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`likes >= 50 and color in ["red", "blue"]`).
		WithOutputFields("id", "likes", "color").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("query on dynamic keys: %v", err)
	}
	var want []int64
	for i, in := range infos {
		if in.likes >= 50 && (in.color == "red" || in.color == "blue") {
			want = append(want, autoIDs[i])
		}
	}
	if gotIDs := int64Col(t, qr, "id"); !slices.Equal(sortedCopy(gotIDs), sortedCopy(want)) {
		t.Fatalf("query on dynamic keys: %d ids, want %d", len(gotIDs), len(want))
	}
	lc := qr.GetColumn("likes")
	for i := range qr.ResultCount {
		if l, err := lc.GetAsInt64(i); err != nil || l < 50 {
			t.Fatalf("row %d: likes %v, %v", i, l, err)
		}
	}
	// Querying "*" returns the dynamic keys too; a JSON path filter on a
	// nested dynamic value works.
	qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`tag["n"] == 20`).
		WithOutputFields("*").WithConsistencyLevel(entity.ClStrong))
	if err != nil || qr.ResultCount != 1 {
		t.Fatalf(`query tag["n"] == 20: %d rows, %v`, qr.ResultCount, err)
	}
	if id := int64Col(t, qr, "id")[0]; id != autoIDs[20] {
		t.Fatalf(`query tag["n"] == 20 found id %d, want %d`, id, autoIDs[20])
	}
	// With "*" the SDK hands back the whole dynamic field as JSON.
	meta, ok := qr.GetColumn("$meta").(*column.ColumnJSONBytes)
	if !ok {
		t.Fatalf(`query with "*": no $meta JSON column in %v`, columnNames(qr))
	}
	var obj map[string]any
	if err := json.Unmarshal(meta.Data()[0], &obj); err != nil || obj["color"] != infos[20].color || obj["likes"] != float64(infos[20].likes) {
		t.Fatalf(`query with "*": $meta %s (%v), want color %q likes %d`, meta.Data()[0], err, infos[20].color, infos[20].likes)
	}

	// Delete by a filter on a dynamic key, then query again.
	redCount := 0
	for _, in := range infos {
		if in.color == "red" {
			redCount++
		}
	}
	del, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr(`color like "re%"`))
	if err != nil {
		t.Fatalf("delete by dynamic filter: %v", err)
	}
	if del.DeleteCount != int64(redCount) {
		t.Fatalf("delete count %d, want %d", del.DeleteCount, redCount)
	}
	qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`color == "red"`).
		WithOutputFields("color").WithConsistencyLevel(entity.ClStrong))
	if err != nil || qr.ResultCount != 0 {
		t.Fatalf("query red after delete: %d rows, %v", qr.ResultCount, err)
	}
	cnt, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if c, _ := cnt.GetColumn("count(*)").GetAsInt64(0); c != int64(n-redCount) {
		t.Fatalf("count(*) after delete = %d, want %d", c, n-redCount)
	}
	rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(vecs[0])}).
		WithOutputFields("color").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	for i := range rs[0].ResultCount {
		if c, _ := rs[0].GetColumn("color").GetAsString(i); c == "red" {
			t.Fatalf("search after delete returned a red row")
		}
	}
}
