package e2e

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// TestSortCompactionResumeAfterRestart stops the server right after a
// manual compaction started: after the restart the job completes with no
// failed plan (a plan that had not committed is run again, not aborted),
// its sources are replaced by its output, and every read matches the
// model.
func TestSortCompactionResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	configure := func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false // only the manual job compacts
	}
	srv := startServerWith(t, dir, configure)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "resumejob"
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(3, 8))
	model := map[int64]int64{}
	for b := range 3 {
		var ids, vs []int64
		for i := range 2000 {
			id := int64(b*2000 + i)
			ids, vs = append(ids, id), append(vs, id)
			model[id] = id
		}
		writeRows(t, ctx, cli, name, r, ids, vs, false)
		flush(t, ctx, cli, name)
	}
	var gone []int64
	for id := range model {
		if id%2 == 0 {
			gone = append(gone, id)
		}
	}
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone))
	must(t, err)
	for _, id := range gone {
		delete(model, id)
	}
	raw := rawService(t, srv)
	var resp *milvuspb.ManualCompactionResponse
	eventually(t, 30*time.Second, "the deletes reach a delete log and a compaction is planned", func() (bool, string) {
		resp, err = raw.ManualCompaction(ctx, &milvuspb.ManualCompactionRequest{CollectionName: name})
		must(t, err)
		return resp.GetCompactionPlanCount() > 0, resp.String()
	})
	srv.stop() // in the middle of the job
	srv = startServerWith(t, dir, configure)
	cli = srv.client(t)
	raw = rawService(t, srv)
	eventually(t, 60*time.Second, "the job of before the restart completes", func() (bool, string) {
		st, err := raw.GetCompactionState(ctx, &milvuspb.GetCompactionStateRequest{CompactionID: resp.GetCompactionID()})
		must(t, err)
		return st.GetState() == commonpb.CompactionState_Completed, st.String()
	})
	st, err := raw.GetCompactionState(ctx, &milvuspb.GetCompactionStateRequest{CompactionID: resp.GetCompactionID()})
	must(t, err)
	if st.GetFailedPlanNo() != 0 || st.GetCompletedPlanNo() != int64(resp.GetCompactionPlanCount()) {
		t.Fatalf("job after the restart: %v (planned %d)", st, resp.GetCompactionPlanCount())
	}
	checkModel(t, ctx, cli, name, model, "after the resumed job")
	// The plan merged the three segments into one (its sources are gone).
	// The deleted rows may still be in it: the plan may have been made,
	// or run again, before the deletes reached a delete log; reads hide
	// them all the same (checked above).
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	var rows int64
	for _, s := range segs {
		rows += s.NumRows
	}
	if len(segs) != 1 || rows < int64(len(model)) || rows > 6000 {
		t.Fatalf("segments after the job: %d holding %d rows (%d live)", len(segs), rows, len(model))
	}
}
