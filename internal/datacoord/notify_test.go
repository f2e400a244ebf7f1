package datacoord

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// refusingListener refuses its first refusals notices, as a query
// coordinator that is restarting does, then records them.
type refusingListener struct {
	mu       sync.Mutex
	refusals int
	segs     []model.Segment
}

func (l *refusingListener) SegmentFlushed(_ context.Context, seg *model.Segment) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refusals > 0 {
		l.refusals--
		return errors.New("querycoord: unavailable")
	}
	l.segs = append(l.segs, *seg)
	return nil
}

func (l *refusingListener) heard() []model.Segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]model.Segment(nil), l.segs...)
}

// A flushed segment's notice that a listener refused is sent again until
// it is taken, and a listener that took it at once hears it once.
func TestRefusedFlushNoticeIsSentAgain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newCoord(t, kv.NewMemory(), smallConfig())
	refusing, taking := &refusingListener{refusals: 2}, &refusingListener{}
	s.AddListener(refusing)
	s.AddListener(taking)
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	id := mustAssign(t, s, 1, 10, "vc0", 5, 5, 1).SegmentID
	if _, err := s.SealChannel(ctx, 1, "vc0", 9); err != nil {
		t.Fatal(err)
	}
	r := contract.FlushResult{SegmentID: id, NumRows: 5, Binlogs: map[int64]string{1: "ts"}, FlushTS: 9}
	if err := s.SegmentFlushed(ctx, r); err != nil {
		t.Fatalf("a listener's refusal failed the flush: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(refusing.heard()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the refused notice was not sent again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := refusing.heard(); len(got) != 1 || got[0].ID != id || got[0].State != model.SegmentFlushed {
		t.Fatalf("the refusing listener heard %+v, want segment %d flushed once", got, id)
	}
	if got := taking.heard(); len(got) != 1 {
		t.Fatalf("the listener that took the notice heard it %d times", len(got))
	}
}
