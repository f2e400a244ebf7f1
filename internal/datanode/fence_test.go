package datanode

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// remoteCoord is the data coordinator as a data node of a cluster reaches
// it: every call carries the node's server ID, as the gRPC edge adds it
// from the caller's session (contract.WithCaller), so the coordinator's
// channel ownership checks apply.
type remoteCoord struct {
	d  *datacoord.Server
	id int64
}

func (c remoteCoord) ctx(ctx context.Context) context.Context { return contract.WithCaller(ctx, c.id) }

func (c remoteCoord) GetCheckpoint(ctx context.Context, vc string) (contract.Checkpoint, error) {
	return c.d.GetCheckpoint(c.ctx(ctx), vc)
}

func (c remoteCoord) UpdateCheckpoint(ctx context.Context, vc string, cp contract.Checkpoint) error {
	return c.d.UpdateCheckpoint(c.ctx(ctx), vc, cp)
}

func (c remoteCoord) Segment(ctx context.Context, id int64) (model.Segment, bool, error) {
	return c.d.Segment(c.ctx(ctx), id)
}

func (c remoteCoord) SegmentFlushed(ctx context.Context, r contract.FlushResult) error {
	return c.d.SegmentFlushed(c.ctx(ctx), r)
}

func (c remoteCoord) AddDeltaLog(ctx context.Context, dl model.DeltaLog) error {
	return c.d.AddDeltaLog(c.ctx(ctx), dl)
}

func (c remoteCoord) NoteBufferedRows(ctx context.Context, seg, rows int64) error {
	return c.d.NoteBufferedRows(c.ctx(ctx), seg, rows)
}

func (c remoteCoord) SaveSyncManifest(ctx context.Context, seg int64, manifest string) error {
	return c.d.SaveSyncManifest(c.ctx(ctx), seg, manifest)
}

func (c remoteCoord) ChannelFailed(ctx context.Context, f contract.ChannelFailure) error {
	return c.d.ChannelFailed(c.ctx(ctx), f)
}

func (c remoteCoord) ChannelRecovered(ctx context.Context, vc string) error {
	return c.d.ChannelRecovered(c.ctx(ctx), vc)
}

// clusterNodes are the data nodes the channel assignment reaches, by ID.
type clusterNodes struct {
	mu    sync.Mutex
	nodes map[int64]*Server
}

type clusterNode struct{ s *Server }

func (n clusterNode) Watch(ctx context.Context, c *model.Collection) error { return n.s.Watch(ctx, c) }
func (n clusterNode) Unwatch(_ context.Context, c *model.Collection) error {
	n.s.Unwatch(c)
	return nil
}

func (c *clusterNodes) DataNode(_ context.Context, id int64) (datacoord.DataNode, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clusterNode{c.nodes[id]}, nil
}

// pausingStore holds the next sync manifest write until released: the
// node stops between writing a piece's files and its manifest, as a node
// stopped by SIGSTOP (or cut off) in the middle of a sync.
type pausingStore struct {
	objstore.Store
	// holds picks the write to hold; nil: a sync manifest's.
	holds   func(key string) bool
	mu      sync.Mutex
	armed   bool
	paused  chan string   // the held manifest's key
	release chan struct{} // closed: the write goes on
	once    sync.Once
}

func (s *pausingStore) resume() {
	s.mu.Lock()
	release := s.release
	s.mu.Unlock()
	s.once.Do(func() { close(release) })
}

func (s *pausingStore) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed, s.paused, s.release = true, make(chan string, 1), make(chan struct{})
}

func (s *pausingStore) Put(ctx context.Context, key string, data []byte) error {
	s.mu.Lock()
	hold := s.armed && (s.holds == nil && strings.Contains(key, "/"+syncManifestPrefix) || s.holds != nil && s.holds(key))
	if hold {
		s.armed = false
	}
	paused, release := s.paused, s.release
	s.mu.Unlock()
	if hold {
		paused <- key
		<-release
	}
	return s.Store.Put(ctx, key, data)
}

// messages records the messages a logger wrote.
type messages struct {
	mu   sync.Mutex
	msgs []string
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, r.Message)
	return nil
}
func (m *messages) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m *messages) WithGroup(string) slog.Handler      { return m }
func (m *messages) has(msg string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.msgs, msg)
}

// startClusterNode runs data node id of a cluster (its calls to the data
// coordinator carry its ID) without watching anything: the channel
// assignment tells it what to watch.
func (e *env) startClusterNode(t *testing.T, nodes *clusterNodes, id int64, objects objstore.Store, logs *messages) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pol := everyInsert
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(logs)
	}
	n := New(Deps{Log: e.log, Objects: objects, Coord: remoteCoord{e.data, id}, IDs: e.root, Sync: &pol, Logger: logger})
	nodes.mu.Lock()
	nodes.nodes[id] = n
	nodes.mu.Unlock()
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// TestStaleOwnerSyncManifestRefused (issue 8: a node that is cut off and
// comes back must not write twice): data node 1 owns the channel and syncs
// a piece; it is stopped in the middle of its next sync (the piece's files
// written, its manifest not), its session ends and the channel moves to
// node 2, which replays the segment and syncs the same rows as its own
// piece. When node 1 resumes, its manifest is written but the data
// coordinator refuses to record it (channel misrouted); node 1 logs it and
// deletes its files. Node 2 crashes, node 3 takes the channel: it reads
// the manifest node 2 recorded, not the one node 1 wrote last, and flushes
// every row exactly once. Before the fix the manifest was one object that
// whichever node wrote last replaced, and the next owner read it.
func TestStaleOwnerSyncManifestRefused(t *testing.T) {
	e := newEnv(t, 1000)
	nodes := &clusterNodes{nodes: map[int64]*Server{}}
	ch, err := datacoord.NewChannels(bg, datacoord.ChannelsDeps{KV: e.store, Nodes: nodes,
		Collections: func(context.Context) ([]*model.Collection, error) { return []*model.Collection{e.coll}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.data.SetChannels(ch)

	storeA := &pausingStore{Store: e.objects}
	logsA := &messages{}
	stopA := e.startClusterNode(t, nodes, 1, storeA, logsA)
	if err := ch.SetNodes(bg, []int64{1}); err != nil {
		t.Fatal(err)
	}
	var want rows
	first, r := e.insert(t, partA, 1, 2)
	want.add(r)
	seg := first.SegmentID
	eventually(t, "node 1's first piece", func() bool { return len(e.pieces(t, partA, seg)) == 1 })

	storeA.arm()
	t.Cleanup(storeA.resume) // registered after stopA: runs before it
	_, r = e.insert(t, partA, 3, 4, 5)
	want.add(r)
	staleKey := <-storeA.paused // node 1 stops before writing its second manifest

	stopB := e.startClusterNode(t, nodes, 2, e.objects, nil)
	if err := ch.SetNodes(bg, []int64{2}); err != nil { // node 1's session ended
		t.Fatal(err)
	}
	eventually(t, "node 2's piece", func() bool { return len(e.pieces(t, partA, seg)) == 2 })
	recorded := segOf(e, seg).SyncManifest

	storeA.resume() // node 1 resumes
	eventually(t, "node 1's manifest refused", func() bool { return logsA.has("sync manifest refused: the piece is discarded") })
	stopA()
	if got := segOf(e, seg).SyncManifest; got != recorded {
		t.Fatalf("recorded manifest %q, want node 2's %q", got, recorded)
	}
	if _, err := e.objects.Get(bg, staleKey); err == nil {
		t.Fatalf("node 1's refused manifest %s was left in the store", staleKey)
	}
	// Only node 2's manifest and the pieces it lists are in the segment's
	// directory: node 1 deleted the files of the piece it could not record.
	listed := []string{recorded}
	for _, pc := range e.pieces(t, partA, seg) {
		for _, p := range pc.Binlogs {
			listed = append(listed, p)
		}
	}
	slices.Sort(listed)
	if got := e.segmentObjects(t, partA, seg); !slices.Equal(got, listed) {
		t.Fatalf("segment directory %v, want exactly node 2's manifest and pieces %v", got, listed)
	}

	stopB() // node 2 crashes; node 3 takes the channel
	_, r = e.insert(t, partA, 6)
	want.add(r)
	e.startClusterNode(t, nodes, 3, e.objects, nil)
	if err := ch.SetNodes(bg, []int64{3}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 3's piece", func() bool { return len(e.pieces(t, partA, seg)) == 3 })
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, seg)
	e.checkArrivalOrder(t, seg, want, true)
	if got := e.segmentObjects(t, partA, seg); slices.ContainsFunc(got, func(k string) bool { return strings.Contains(k, syncManifestPrefix) }) {
		t.Fatalf("manifests left after the flush: %v", got)
	}
}

// TestSaveSyncManifestOwnerOnly: the data coordinator records a segment's
// manifest from the owner of its channel only, and forgets it at the
// flush.
func TestSaveSyncManifestOwnerOnly(t *testing.T) {
	e := newEnv(t, 1000)
	nodes := &clusterNodes{nodes: map[int64]*Server{}}
	ch, err := datacoord.NewChannels(bg, datacoord.ChannelsDeps{KV: e.store, Nodes: nodes,
		Collections: func(context.Context) ([]*model.Collection, error) { return []*model.Collection{e.coll}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.data.SetChannels(ch)
	e.startClusterNode(t, nodes, 1, e.objects, nil)
	e.startClusterNode(t, nodes, 2, e.objects, nil)
	if err := ch.SetNodes(bg, []int64{1}); err != nil {
		t.Fatal(err)
	}
	first, _ := e.insert(t, partA, 1)
	seg := first.SegmentID
	eventually(t, "node 1's piece", func() bool { return segOf(e, seg).SyncManifest != "" })
	owner := remoteCoord{e.data, 1}
	other := remoteCoord{e.data, 2}
	err = other.SaveSyncManifest(bg, seg, "insert_log/x/sync_manifest_1.json")
	if err == nil || !strings.Contains(err.Error(), "channel misrouted") {
		t.Fatalf("a non-owner's manifest: %v, want channel misrouted", err)
	}
	before := segOf(e, seg).SyncManifest
	if before == "insert_log/x/sync_manifest_1.json" {
		t.Fatal("a non-owner's manifest was recorded")
	}
	if err := owner.SaveSyncManifest(bg, seg+1000, "k"); err == nil {
		t.Fatal("a manifest of an unknown segment was recorded")
	}
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, seg)
	if got := segOf(e, seg).SyncManifest; got != "" {
		t.Fatalf("flushed segment keeps manifest %q", got)
	}
	if err := owner.SaveSyncManifest(bg, seg, before); err == nil {
		t.Fatal("a manifest of a flushed segment was recorded")
	}
}

// newFenceEnv is an env whose channel is assigned to data nodes (cluster
// mode): the data coordinator hears only the channel's owner.
func newFenceEnv(t *testing.T) (*env, *clusterNodes, *datacoord.Channels) {
	t.Helper()
	e := newEnv(t, 1000)
	nodes := &clusterNodes{nodes: map[int64]*Server{}}
	ch, err := datacoord.NewChannels(bg, datacoord.ChannelsDeps{KV: e.store, Nodes: nodes,
		Collections: func(context.Context) ([]*model.Collection, error) { return []*model.Collection{e.coll}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.data.SetChannels(ch)
	return e, nodes, ch
}

// TestNoteBufferedRowsOwnerOnly (issue 8): a data node's report of the
// rows it buffers is heard from the owner of the segment's channel only,
// as its other reports: a node cut off while its channel moved, replaying
// inserts the new owner counts too, is refused (channel misrouted, 507)
// and the segment's row count stays the owner's.
func TestNoteBufferedRowsOwnerOnly(t *testing.T) {
	e, nodes, ch := newFenceEnv(t)
	e.startClusterNode(t, nodes, 1, e.objects, nil)
	if err := ch.SetNodes(bg, []int64{1}); err != nil {
		t.Fatal(err)
	}
	first, _ := e.insert(t, partA, 1, 2)
	seg := first.SegmentID
	eventually(t, "node 1's piece", func() bool { return segOf(e, seg).SyncManifest != "" })
	rows := segOf(e, seg).NumRows
	if rows != 2 {
		t.Fatalf("segment %d has %d rows, want 2", seg, rows)
	}
	stale := remoteCoord{e.data, 2}
	err := stale.NoteBufferedRows(bg, seg, rows+100)
	if !errors.Is(err, errs.ErrChannelMisrouted) || !strings.Contains(err.Error(), "channel misrouted") {
		t.Fatalf("a non-owner's buffered rows: %v, want channel misrouted (507)", err)
	}
	if got := segOf(e, seg).NumRows; got != rows {
		t.Fatalf("a refused report moved the row count to %d, want %d", got, rows)
	}
	owner := remoteCoord{e.data, 1}
	if err := owner.NoteBufferedRows(bg, seg, rows+1); err != nil {
		t.Fatalf("the owner's buffered rows: %v", err)
	}
	if got := segOf(e, seg).NumRows; got != rows+1 {
		t.Fatalf("the owner's report: row count %d, want %d", got, rows+1)
	}
	if err := stale.NoteBufferedRows(bg, seg+1000, 7); err != nil {
		t.Fatalf("an unknown segment (dropped with its collection): %v, want ignored", err)
	}
	// In process (standalone): no caller, no owner check.
	if err := e.data.NoteBufferedRows(bg, seg, rows+2); err != nil {
		t.Fatalf("an in-process report: %v", err)
	}
}

// TestStaleOwnerSealFilesDeleted (issue 8): data node 1 syncs a segment in
// pieces and is stopped in the middle of its seal (the merged binlogs
// written, the stats log not yet); the channel moves to node 2, which
// flushes the segment from the recorded pieces. Node 1 resumes, writes its
// stats log and reports the flush: refused (channel misrouted), it logs
// it and deletes the merged binlogs and stats log it wrote, instead of
// leaving them to the orphan scan. The segment's directories then hold
// exactly the files its record names, and every row is there once.
func TestStaleOwnerSealFilesDeleted(t *testing.T) {
	e, nodes, ch := newFenceEnv(t)
	storeA := &pausingStore{Store: e.objects, holds: func(key string) bool { return strings.HasPrefix(key, storage.StatsLogPrefix) }}
	logsA := &messages{}
	stopA := e.startClusterNode(t, nodes, 1, storeA, logsA)
	if err := ch.SetNodes(bg, []int64{1}); err != nil {
		t.Fatal(err)
	}
	var want rows
	first, r := e.insert(t, partA, 1, 2)
	want.add(r)
	seg := first.SegmentID
	_, r = e.insert(t, partA, 3)
	want.add(r)
	eventually(t, "node 1's pieces", func() bool { return len(e.pieces(t, partA, seg)) == 2 })
	pieces := e.segmentObjects(t, partA, seg)

	storeA.arm()
	t.Cleanup(storeA.resume) // registered after stopA: runs before it
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	staleStats := <-storeA.paused // node 1 merged the pieces, stops before its stats log
	stale := e.segmentObjects(t, partA, seg)
	if len(stale) <= len(pieces) {
		t.Fatalf("node 1 wrote no merged binlog before its stats log: %v", stale)
	}

	e.startClusterNode(t, nodes, 2, e.objects, nil)
	if err := ch.SetNodes(bg, []int64{2}); err != nil { // node 1's session ended
		t.Fatal(err)
	}
	e.waitFlushed(t, seg)
	flushed := segOf(e, seg)

	storeA.resume()
	eventually(t, "node 1's flush refused", func() bool { return logsA.has("flush refused: the segment's files are discarded") })
	stopA()
	if got := segOf(e, seg); got.StatsLog != flushed.StatsLog || !maps.Equal(got.Binlogs, flushed.Binlogs) {
		t.Fatalf("segment record changed after node 1's refused flush: %+v, want node 2's %+v", got, flushed)
	}
	if _, err := e.objects.Get(bg, staleStats); err == nil {
		t.Fatalf("node 1's refused stats log %s was left in the store", staleStats)
	}
	want2 := slices.Sorted(maps.Values(flushed.Binlogs))
	if got := e.segmentObjects(t, partA, seg); !slices.Equal(got, want2) {
		t.Fatalf("segment directory %v, want exactly the flushed binlogs %v (node 1's merged files deleted)", got, want2)
	}
	var stats []string
	for _, o := range must(e.objects.List(bg, storage.StatsLogPrefix)) {
		stats = append(stats, o.Key)
	}
	if !slices.Equal(stats, []string{flushed.StatsLog}) {
		t.Fatalf("stats logs %v, want exactly the flushed one %s", stats, flushed.StatsLog)
	}
	e.checkArrivalOrder(t, seg, want, true)
}
