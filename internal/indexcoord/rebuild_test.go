package indexcoord

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/storage"
)

// A finished build whose file a query node reports missing or corrupt is
// built again from the segment's binlogs under a new build ID (the old
// record goes in the same transaction), the listeners hear about it, the
// new file opens, and the rebuild survives a restart. Reports of a build
// already replaced are ignored.
func TestIndexFileBadRebuilds(t *testing.T) {
	e := newEnv(t)
	seg := e.flush(t, e.coll, 40)
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "8", "efConstruction": "32"}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	eventually(t, "first build", func() bool { return len(must(e.ic.SegmentIndexes(bg, seg))) == 1 })
	old := must(e.ic.SegmentIndexes(bg, seg))[0]
	if err := e.objects.Delete(bg, old.File); err != nil {
		t.Fatal(err)
	}
	report := contract.BadIndexFile{CollectionID: e.coll.ID, SegmentID: seg, BuildID: old.BuildID, File: old.File, Cause: "not found"}
	heardBefore := len(e.heard.got())
	for range 3 { // repeated reports (every retry of a load) rebuild once
		if err := e.ic.IndexFileBad(bg, report); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "rebuild", func() bool {
		got := must(e.ic.SegmentIndexes(bg, seg))
		return len(got) == 1 && got[0].BuildID != old.BuildID
	})
	got := must(e.ic.SegmentIndexes(bg, seg))[0]
	if got.File == old.File || got.NumRows != 40 || got.IndexID != old.IndexID {
		t.Fatalf("rebuilt %+v from %+v", got, old)
	}
	data, err := e.objects.Get(bg, got.File)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := storage.OpenIndexFile(data); err != nil {
		t.Fatalf("rebuilt file %s: %v", got.File, err)
	}
	eventually(t, "listeners told", func() bool { return len(e.heard.got()) == heardBefore+1 })
	builds := must(e.ic.Builds(bg))
	if len(builds) != 1 || builds[0].BuildID != got.BuildID {
		t.Fatalf("builds after the rebuild: %+v", builds)
	}
	// A late report about the replaced build changes nothing.
	if err := e.ic.IndexFileBad(bg, report); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	after := must(e.ic.SegmentIndexes(bg, seg))
	if len(after) != 1 || after[0].BuildID != got.BuildID || after[0].State != commonpb.IndexState_Finished {
		t.Fatalf("after restart: %+v, want build %d", after, got.BuildID)
	}
	def := must(e.ic.Indexes(bg, e.coll.ID))[0]
	if p := must(e.ic.IndexProgress(bg, def)); p.State != commonpb.IndexState_Finished || p.IndexedRows != 40 {
		t.Fatalf("progress after the rebuild: %+v", p)
	}
}
