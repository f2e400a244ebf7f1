package datacoord

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// AdoptedLog is what AdoptLog changed.
type AdoptedLog struct {
	// Checkpoints maps each vchannel to its new position in the new log.
	Checkpoints map[string]uint64
	// Dropped lists the segments that were not flushed: their rows were
	// only in the lost log.
	Dropped []model.Segment
}

// AdoptLog rewrites the data coordinator's state in the meta store for a
// new log (the old one was lost): every vchannel checkpoint moves to
// position(vchannel), the new log's current end, and every segment not
// flushed yet is dropped, since its rows lived only in the lost log.
// Flushed segments and delete logs are kept. It runs offline (`milvago
// recover`), with no data coordinator serving.
func AdoptLog(ctx context.Context, store kv.Store, position func(vchannel string) (uint64, error)) (AdoptedLog, error) {
	out := AdoptedLog{Checkpoints: map[string]uint64{}}
	var ops []kv.Op
	cps, err := store.List(ctx, prefixCheckpoint)
	if err != nil {
		return out, fmt.Errorf("datacoord: list checkpoints: %w", err)
	}
	for _, e := range cps {
		var cp contract.Checkpoint
		if err := json.Unmarshal(e.Value, &cp); err != nil {
			return out, fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		vc := strings.TrimPrefix(e.Key, prefixCheckpoint)
		if cp.Position, err = position(vc); err != nil {
			return out, err
		}
		b, _ := json.Marshal(cp)
		ops = append(ops, kv.Op{Key: e.Key, Value: b})
		out.Checkpoints[vc] = cp.Position
	}
	segs, err := store.List(ctx, prefixSegment)
	if err != nil {
		return out, fmt.Errorf("datacoord: list segments: %w", err)
	}
	for _, e := range segs {
		var seg model.Segment
		if err := json.Unmarshal(e.Value, &seg); err != nil {
			return out, fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		if seg.State != model.SegmentGrowing && seg.State != model.SegmentSealed {
			continue
		}
		out.Dropped = append(out.Dropped, seg)
		seg.State = model.SegmentDropped
		b, err := json.Marshal(seg)
		if err != nil {
			return out, err
		}
		ops = append(ops, kv.Op{Key: e.Key, Value: b})
	}
	sort.Slice(out.Dropped, func(i, j int) bool { return out.Dropped[i].ID < out.Dropped[j].ID })
	// In batches: etcd bounds the operations of one transaction.
	for len(ops) > 0 {
		n := min(len(ops), 100)
		if _, err := store.Txn(ctx, nil, ops[:n]); err != nil {
			return out, fmt.Errorf("datacoord: rewrite state for the new log: %w", err)
		}
		ops = ops[n:]
	}
	return out, nil
}
