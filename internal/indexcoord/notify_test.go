package indexcoord

import (
	"context"
	"errors"
	"testing"
)

// refusingListener refuses its first refusals IndexBuilt notices (the
// query coordinator restarting), then records them in builtRecorder.
type refusingListener struct {
	builtRecorder
	refusals int
}

func (r *refusingListener) IndexBuilt(ctx context.Context, collectionID, segmentID int64) error {
	r.mu.Lock()
	if r.refusals > 0 {
		r.refusals--
		r.mu.Unlock()
		return errors.New("querycoord: unavailable")
	}
	r.mu.Unlock()
	return r.builtRecorder.IndexBuilt(ctx, collectionID, segmentID)
}

// A finished build's notice that a listener refused is sent again until
// it is taken; a listener that took it at once hears it once.
func TestRefusedIndexBuiltNoticeIsSentAgain(t *testing.T) {
	e := newEnv(t)
	refusing := &refusingListener{refusals: 2}
	e.ic.AddListener(refusing)
	seg := e.flush(t, e.coll, 30)
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "8", "efConstruction": "32"}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	eventually(t, "the refused notice taken", func() bool { return len(refusing.got()) == 1 })
	if got := refusing.got(); got[0] != seg {
		t.Fatalf("the refusing listener heard %v, want segment %d", got, seg)
	}
	if got := e.heard.got(); len(got) != 1 || got[0] != seg {
		t.Fatalf("the listener that took the notice heard %v, want segment %d once", got, seg)
	}
}
