package querynode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/segment"
)

// delegator serves one shard of one collection.
type delegator struct {
	coll   *model.Collection
	plan   ChannelPlan
	d      Deps
	logger *slog.Logger

	tsafe    atomic.Uint64
	loaded   atomic.Int64 // sealed segments loaded so far
	caughtUp atomic.Bool
	target   uint64 // log position to reach before the shard counts as loaded

	mu      sync.RWMutex // guards the fields below
	growing map[int64]*segment.Growing
	sealed  map[int64]*sealedSegment
	deletes deleteLog
	notify  chan struct{} // closed and replaced whenever tsafe moves
	failed  error
	closed  bool // released: loads that finish later unmap instead of joining
}

// sealedSegment is a loaded sealed segment whose columns and indexes may
// alias memory-mapped files. The files are unmapped only once the segment
// has left the shard (closing) and no read holds it (refs == 0).
type sealedSegment struct {
	seg      *segment.Sealed
	mappings []objstore.Mapping
	refs     atomic.Int32
	closing  atomic.Bool
	once     sync.Once
}

func (s *sealedSegment) acquire() { s.refs.Add(1) }

func (s *sealedSegment) release() {
	if s.refs.Add(-1) == 0 && s.closing.Load() {
		s.unmap()
	}
}

// close is called once the segment is out of the shard's map.
func (s *sealedSegment) close() {
	s.closing.Store(true)
	if s.refs.Load() == 0 {
		s.unmap()
	}
}

func (s *sealedSegment) unmap() {
	s.once.Do(func() {
		for _, m := range s.mappings {
			m.Close()
		}
	})
}

// deleteLog is every delete the shard has seen, applied to each sealed
// segment as it is loaded.
type deleteLog struct {
	intPKs []int64
	strPKs []string
	intTS  []uint64
	strTS  []uint64
}

func newDelegator(coll *model.Collection, plan ChannelPlan, d Deps, logger *slog.Logger) *delegator {
	return &delegator{coll: coll, plan: plan, d: d, logger: logger.With("vchannel", plan.VChannel),
		growing: map[int64]*segment.Growing{}, sealed: map[int64]*sealedSegment{}, notify: make(chan struct{})}
}

// run loads the planned sealed segments, then consumes the shard's log
// until ctx ends.
func (dl *delegator) run(ctx context.Context) {
	err := dl.load(ctx)
	if err == nil {
		err = dl.consume(ctx)
	}
	if err != nil && ctx.Err() == nil {
		dl.logger.Error("shard failed", "err", err)
		dl.mu.Lock()
		dl.failed = err
		dl.mu.Unlock()
	}
}

func (dl *delegator) load(ctx context.Context) error {
	latest, err := dl.d.Log.Latest(ctx, dl.plan.PChannel)
	if err != nil {
		return fmt.Errorf("querynode: position of %s: %w", dl.plan.PChannel, err)
	}
	dl.target = uint64(latest)
	for _, l := range dl.plan.DeltaLogs {
		if err := dl.loadDeltaLog(ctx, l); err != nil {
			return err
		}
	}
	for _, sp := range dl.plan.Sealed {
		if err := dl.loadSealed(ctx, sp); err != nil {
			return err
		}
		dl.loaded.Add(1)
	}
	return nil
}

func (dl *delegator) consume(ctx context.Context) error {
	after := logbroker.MessageID(dl.plan.Checkpoint.Position)
	if dl.target <= uint64(after) {
		dl.caughtUp.Store(true)
	}
	r, err := dl.d.Log.Read(ctx, dl.plan.PChannel, after)
	if err != nil {
		return fmt.Errorf("querynode: read %s: %w", dl.plan.PChannel, err)
	}
	defer r.Close()
	for {
		m, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, logbroker.ErrClosed) {
				return nil
			}
			return fmt.Errorf("querynode: next on %s: %w", dl.plan.PChannel, err)
		}
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			dl.logger.Error("skipping undecodable message", "id", m.ID, "err", err)
			continue
		}
		if dm.VChannel == "" || dm.VChannel == dl.plan.VChannel {
			if err := dl.apply(dm); err != nil {
				return err
			}
		}
		if uint64(m.ID) >= dl.target {
			dl.caughtUp.Store(true)
		}
		dl.advance(dm.TS)
	}
}

func (dl *delegator) apply(m *msg.Message) error {
	switch m.Kind {
	case msg.KindInsert:
		return dl.applyInsert(m)
	case msg.KindDelete:
		dl.applyDelete(m)
	case msg.KindUpsert:
		dl.applyDelete(m)
		return dl.applyInsert(m)
	}
	return nil
}

func (dl *delegator) applyInsert(m *msg.Message) error {
	ins := m.Insert
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if _, ok := dl.sealed[ins.SegmentID]; ok {
		return nil // its sealed copy already holds these rows
	}
	g, ok := dl.growing[ins.SegmentID]
	if !ok {
		var err error
		g, err = segment.NewGrowing(ins.SegmentID, ins.PartitionID, dl.coll.Schema)
		if err != nil {
			return fmt.Errorf("querynode: new growing segment %d: %w", ins.SegmentID, err)
		}
		dl.growing[ins.SegmentID] = g
	}
	cols := make(map[int64]column.Column, len(ins.FieldsData))
	for _, fd := range ins.GetFieldsData() {
		c, err := column.FromFieldData(fd)
		if err != nil {
			return fmt.Errorf("querynode: decode field %q: %w", fd.GetFieldName(), err)
		}
		cols[fd.GetFieldId()] = c
	}
	ts := make([]uint64, ins.GetNumRows())
	for i := range ts {
		ts[i] = m.TS
	}
	if err := g.Append(ts, cols); err != nil {
		return fmt.Errorf("querynode: append to segment %d: %w", ins.SegmentID, err)
	}
	return nil
}

func (dl *delegator) applyDelete(m *msg.Message) {
	ids := m.Delete.GetPrimaryKeys()
	ints, strs := ids.GetIntId().GetData(), ids.GetStrId().GetData()
	its, sts := repeat(m.TS, len(ints)), repeat(m.TS, len(strs))
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.deletes.intPKs = append(dl.deletes.intPKs, ints...)
	dl.deletes.intTS = append(dl.deletes.intTS, its...)
	dl.deletes.strPKs = append(dl.deletes.strPKs, strs...)
	dl.deletes.strTS = append(dl.deletes.strTS, sts...)
	for _, g := range dl.growing {
		deleteFrom(g, ints, its, strs, sts)
	}
	for _, s := range dl.sealed {
		deleteFrom(s.seg, ints, its, strs, sts)
	}
}

func deleteFrom(s segment.Segment, ints []int64, its []uint64, strs []string, sts []uint64) {
	if len(ints) > 0 {
		s.Delete(ints, nil, its)
	}
	if len(strs) > 0 {
		s.Delete(nil, strs, sts)
	}
}

func repeat(ts uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = ts
	}
	return out
}

// advance moves tsafe forward and wakes waiting reads.
func (dl *delegator) advance(ts uint64) {
	if ts <= dl.tsafe.Load() {
		return
	}
	dl.tsafe.Store(ts)
	dl.mu.Lock()
	close(dl.notify)
	dl.notify = make(chan struct{})
	dl.mu.Unlock()
}

// waitTSafe blocks until the shard's service time reaches ts and returns it.
func (dl *delegator) waitTSafe(ctx context.Context, ts uint64) (uint64, error) {
	asked := false
	for {
		dl.mu.RLock()
		ch, failed := dl.notify, dl.failed
		dl.mu.RUnlock()
		if failed != nil {
			return 0, fmt.Errorf("querynode: shard %s unavailable: %w", dl.plan.VChannel, failed)
		}
		if cur := dl.tsafe.Load(); cur >= ts {
			return cur, nil
		}
		if !asked {
			asked = true
			if err := dl.d.Syncer.SyncTo(ctx, dl.plan.PChannel, ts); err != nil {
				return 0, err
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("querynode: wait for shard %s to reach ts %d: %w", dl.plan.VChannel, ts, ctx.Err())
		case <-ch:
		case <-time.After(time.Second):
			asked = false // ask again: the tick may have raced a concurrent append
		}
	}
}

func (dl *delegator) progress() int64 {
	total := int64(len(dl.plan.Sealed)) + 1
	done := dl.loaded.Load()
	if dl.caughtUp.Load() {
		done++
	}
	return done * 100 / total
}

func (dl *delegator) close() {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.closed = true
	for id, s := range dl.sealed {
		s.close()
		delete(dl.sealed, id)
	}
	clear(dl.growing)
}

func (dl *delegator) dropPartition(partitionID int64) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	for id, s := range dl.sealed {
		if s.seg.PartitionID() == partitionID {
			s.close()
			delete(dl.sealed, id)
		}
	}
	for id, g := range dl.growing {
		if g.PartitionID() == partitionID {
			delete(dl.growing, id)
		}
	}
}

// readSet is the segments one read covers; release must be called after.
type readSet struct {
	segs   []segment.Segment
	sealed []*sealedSegment
}

func (r *readSet) release() {
	for _, s := range r.sealed {
		s.release()
	}
}

// snapshot lists the segments a read should cover and pins the sealed ones.
func (dl *delegator) snapshot(parts map[int64]bool, ignoreGrowing bool) *readSet {
	dl.mu.RLock()
	defer dl.mu.RUnlock()
	rs := &readSet{segs: make([]segment.Segment, 0, len(dl.sealed)+len(dl.growing))}
	for _, s := range dl.sealed {
		if parts == nil || parts[s.seg.PartitionID()] {
			s.acquire()
			rs.segs = append(rs.segs, s.seg)
			rs.sealed = append(rs.sealed, s)
		}
	}
	if !ignoreGrowing {
		for _, g := range dl.growing {
			if parts == nil || parts[g.PartitionID()] {
				rs.segs = append(rs.segs, g)
			}
		}
	}
	return rs
}
