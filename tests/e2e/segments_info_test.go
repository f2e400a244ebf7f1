package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestRESTSegmentsDescribe checks Milvus 2.6's segments/describe (the
// proxy's GetSegmentsInfo): each asked segment's metadata with Milvus's
// keys, its insert logs per field, and "segment not found" (code 600) for
// an unknown segment.
func TestRESTSegmentsDescribe(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	base := "http://" + srv.addr

	ok := func(path string, body any) map[string]any {
		t.Helper()
		m := restPost(t, base, path, body)
		if fmt.Sprint(m["code"]) != "0" {
			t.Fatalf("%s: %v", path, m)
		}
		return m
	}
	ok("/collections/create", `{"collectionName":"segs","dimension":4}`)
	ok("/entities/insert", `{"collectionName":"segs","data":[{"id":1,"vector":[1,0,0,0]},{"id":2,"vector":[0,1,0,0]},{"id":3,"vector":[0,0,1,0]}]}`)
	flush(t, ctx, cli, "segs")
	desc, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("segs"))
	must(t, err)
	persisted, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption("segs"))
	must(t, err)
	if len(persisted) != 1 {
		t.Fatalf("persistent segments %v", persisted)
	}
	seg := persisted[0]

	for _, body := range []string{
		fmt.Sprintf(`{"collectionID":%d,"segmentIDs":[%d]}`, desc.ID, seg.ID),
		fmt.Sprintf(`{"segmentIDs":[%d]}`, seg.ID), // Milvus needs no collection ID
	} {
		m := ok("/segments/describe", body)
		infos, _ := m["data"].(map[string]any)["segmentInfos"].([]any)
		if len(infos) != 1 {
			t.Fatalf("%s: %v", body, m)
		}
		info := infos[0].(map[string]any)
		want := map[string]string{"segmentID": fmt.Sprint(seg.ID), "collectionID": fmt.Sprint(desc.ID), "partitionID": fmt.Sprint(seg.ParititionID),
			"numRows": "3", "state": "4" /* Flushed */, "level": "2" /* L1 */, "isSorted": "true"}
		for k, v := range want {
			if got := fmt.Sprint(info[k]); got != v {
				t.Fatalf("%s: %s = %s, want %s (%v)", body, k, got, v, info)
			}
		}
		if ch := fmt.Sprint(info["vChannel"]); !strings.HasSuffix(ch, fmt.Sprintf("%dv0", desc.ID)) {
			t.Fatalf("vChannel %q", ch)
		}
		// An insert log per field: the timestamps (1), id, vector and $meta,
		// each one log ID; the stats log under the primary key.
		var fields []string
		for _, l := range info["insertLogs"].([]any) {
			fl := l.(map[string]any)
			fields = append(fields, fmt.Sprint(fl["fieldID"]))
			if ids := fl["logIDs"].([]any); len(ids) != 1 || fmt.Sprint(ids[0]) == "0" {
				t.Fatalf("insert log %v", fl)
			}
		}
		for _, f := range []string{"1", "100", "101", "102"} {
			if !slices.Contains(fields, f) {
				t.Fatalf("insert logs of fields %v lack field %s (%v)", fields, f, info)
			}
		}
		if _, ok := info["deltaLogs"].([]any); !ok {
			t.Fatalf("deltaLogs %v", info["deltaLogs"])
		}
		if st, _ := info["statsLogs"].([]any); len(st) != 1 || fmt.Sprint(st[0].(map[string]any)["fieldID"]) != "100" {
			t.Fatalf("statsLogs %v", info["statsLogs"])
		}
	}

	// Nothing asked, nothing answered; an unknown segment fails the request.
	if m := ok("/segments/describe", `{}`); fmt.Sprint(m["data"]) != "map[segmentInfos:[]]" {
		t.Fatalf("empty request: %v", m)
	}
	m := restPost(t, base, "/segments/describe", fmt.Sprintf(`{"segmentIDs":[%d, 12345]}`, seg.ID))
	if fmt.Sprint(m["code"]) != "600" || !strings.Contains(fmt.Sprint(m["message"]), "segment not found[segment=12345]") {
		t.Fatalf("unknown segment: %v", m)
	}
}
