package streaming

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/errs"
)

// fixedTSO hands out a timestamp below every TSO timestamp: a clock reset,
// or a second writer with its own clock.
type fixedTSO struct{}

func (fixedTSO) AllocTimestamp(context.Context, uint32) (uint64, error) { return 5, nil }

// term is an ownership that always holds the channel under one term.
type term int64

func (t term) Check(string) (int64, error) { return int64(t), nil }

// A writer taking a channel over reads the last message's timestamp and
// refuses to append below it; a writer that does not hold the channel is
// refused before anything is logged.
func TestTakeOverKeepsTimestampOrder(t *testing.T) {
	e := newEnv(t, Default(), 1000)
	ctx := context.Background()
	if _, err := e.w.AppendDelete(ctx, pch, deleteOf(1, pch+"_1v0", 1)); err != nil {
		t.Fatal(err)
	}
	next := New(Default(), Deps{Log: e.log, TSO: fixedTSO{}, Segments: e.data, Owner: term(2)})
	_, err := next.AppendDelete(ctx, pch, deleteOf(1, pch+"_1v0", 2))
	if err == nil || !strings.Contains(err.Error(), "is not above the channel's last") {
		t.Fatalf("append below the channel's last timestamp: %v", err)
	}
	if got := len(readAll(t, e.log, pch)); got != 1 {
		t.Fatalf("%d messages in the log, want 1", got)
	}
	refused := New(Default(), Deps{Log: e.log, TSO: e.root, Segments: e.data, Owner: notOwner{}})
	if _, err := refused.AppendDelete(ctx, pch, deleteOf(1, pch+"_1v0", 3)); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("append by a writer not holding the channel: %v", err)
	}
}

type notOwner struct{}

func (notOwner) Check(pc string) (int64, error) { return 0, errs.ChannelMisrouted(pc, 1, 2) }
