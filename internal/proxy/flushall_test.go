package proxy

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	kvstore "github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/streaming"
)

// TestGetFlushAllStateFromCheckpoints: GetFlushAllState answers from the
// channels' checkpoints alone, as Milvus 2.6's data coordinator: every
// vchannel of every live collection of every database at or past the
// flush-all timestamp (per pchannel with flush_all_tss). A collection or
// database dropped since is not waited for, nor a collection created
// after the timestamp; a channel whose data node cannot flush it answers
// its cause. Real root and data coordinators over one meta store.
func TestGetFlushAllStateFromCheckpoints(t *testing.T) {
	ctx := context.Background()
	store := kvstore.NewMemory()
	defer store.Close()
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	data, err := datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{d: Deps{Root: root, Data: data}}
	create := func(db, name string, shards int32) *model.Collection {
		t.Helper()
		c, err := root.CreateCollection(ctx, contract.CreateCollectionRequest{DBName: db, ShardsNum: shards,
			Schema: &schemapb.CollectionSchema{Name: name, Fields: []*schemapb.FieldSchema{
				{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
				{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "4")},
			}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := root.CreateDatabase(ctx, "fa_db", nil); err != nil {
		t.Fatal(err)
	}
	a := create("default", "fa_a", 2)
	b := create("fa_db", "fa_b", 1)
	gone := create("default", "fa_gone", 1)
	ts, err := root.AllocTimestamp(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	state := func(req *milvuspb.GetFlushAllStateRequest) (bool, error) {
		r, err := srv.GetFlushAllState(ctx, req)
		return r.GetFlushed(), err
	}
	want := func(what string, req *milvuspb.GetFlushAllStateRequest, flushed bool) {
		t.Helper()
		got, err := state(req)
		if err != nil || got != flushed {
			t.Fatalf("%s: flushed %v, %v; want %v", what, got, err, flushed)
		}
	}
	cp := func(vc string, at uint64) {
		t.Helper()
		if err := data.UpdateCheckpoint(ctx, vc, contract.Checkpoint{Position: at, TS: at}); err != nil {
			t.Fatal(err)
		}
	}
	legacy := &milvuspb.GetFlushAllStateRequest{FlushAllTs: ts}

	if _, err := state(&milvuspb.GetFlushAllStateRequest{}); errs.CodeOf(err) != 1100 ||
		err.Error() != "FlushAllTss or FlushAllTs is required: invalid parameter" {
		t.Fatalf("no timestamp: %v", err)
	}
	if _, err := state(&milvuspb.GetFlushAllStateRequest{FlushAllTss: map[string]uint64{"nope": ts}}); errs.CodeOf(err) != 1100 ||
		err.Error() != "FlushAllTs not found for pchannel "+a.PChannels[0]+": invalid parameter" {
		t.Fatalf("pchannel missing: %v", err)
	}
	want("no checkpoint yet", legacy, false)
	cp(a.VChannels[0], ts)
	cp(a.VChannels[1], ts-1)
	cp(b.VChannels[0], ts)
	want("one channel short of the timestamp", legacy, false)
	cp(a.VChannels[1], ts)
	want("fa_gone (still live) has no checkpoint", legacy, false)
	if err := root.DropCollection(ctx, "default", gone.Name); err != nil {
		t.Fatal(err)
	}
	want("every live channel at the timestamp", legacy, true)

	// Per pchannel: fa_b's must reach a later timestamp.
	if sharesPChannel(b.PChannels[0], a) {
		t.Fatalf("fa_b's pchannel %s is one of fa_a's %v: the test needs them apart", b.PChannels[0], a.PChannels)
	}
	later, err := root.AllocTimestamp(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	tss := map[string]uint64{a.PChannels[0]: ts, a.PChannels[1]: ts, b.PChannels[0]: later}
	want("per pchannel, one behind", &milvuspb.GetFlushAllStateRequest{FlushAllTss: tss}, false)
	// ... and its data node cannot flush it: the cause, not "not yet".
	f := contract.ChannelFailure{CollectionID: b.ID, VChannel: b.VChannels[0], Position: later, Cause: "put binlog: connection refused", Retrying: true}
	if err := data.ChannelFailed(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := state(&milvuspb.GetFlushAllStateRequest{FlushAllTss: tss}); errs.CodeOf(err) != 5 {
		t.Fatalf("a failing channel: %v, want code 5", err)
	}
	cp(b.VChannels[0], later)
	want("per pchannel, all there", &milvuspb.GetFlushAllStateRequest{FlushAllTss: tss}, true)

	// A dropped database is not waited for either.
	if tss[b.PChannels[0]], err = root.AllocTimestamp(ctx, 1); err != nil {
		t.Fatal(err)
	}
	want("fa_db behind", &milvuspb.GetFlushAllStateRequest{FlushAllTss: tss}, false)
	if err := root.DropCollection(ctx, "fa_db", b.Name); err != nil {
		t.Fatal(err)
	}
	if err := root.DropDatabase(ctx, "fa_db"); err != nil {
		t.Fatal(err)
	}
	want("fa_db dropped", &milvuspb.GetFlushAllStateRequest{FlushAllTss: tss}, true)

	// A collection created after the flush holds nothing written before
	// it: its channels (no checkpoint yet) are not waited for.
	create("default", "fa_late", 2)
	want("a collection created after the timestamp", legacy, true)
}

func sharesPChannel(pc string, cs ...*model.Collection) bool {
	for _, c := range cs {
		for _, p := range c.PChannels {
			if p == pc {
				return true
			}
		}
	}
	return false
}

// TestFlushAllAnswersItsMessages: FlushAll logs one FlushAll message on
// every physical channel of the cluster (one with no collection
// included), sealing the growing segments, and answers each message in
// Milvus's layout under its physical channel: its log ID and its time
// tick, which is the logged message's timestamp. flush_all_ts is the
// latest of them, every channel then has a time tick at or past it, and
// cluster_info is common.clusterID and the physical channels. It takes
// nothing from the per-collection flush rate. Real root and data
// coordinators and channel writer over an in-memory log.
func TestFlushAllAnswersItsMessages(t *testing.T) {
	ctx := context.Background()
	store := kvstore.NewMemory()
	defer store.Close()
	rcfg := rootcoord.Default()
	rcfg.PChannels = 4
	root, err := rootcoord.New(ctx, rcfg, rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	data, err := datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	defer log.Close()
	w := streaming.New(streaming.Default(), streaming.Deps{Log: log, TSO: root, Segments: data})
	lim := quota.New(quota.Config{Enabled: true, FlushEnabled: true, FlushRate: -1, FlushRateDB: -1, FlushRateCollection: 0,
		Insert: quota.Unlimited, Delete: quota.Unlimited, BulkLoad: quota.Unlimited, Search: quota.Unlimited, Query: quota.Unlimited}, nil)
	cfg := Default()
	cfg.ClusterID = "3"
	srv := &Server{cfg: cfg, d: Deps{Root: root, Data: data, Writer: w, Quota: lim,
		PChannels: func(context.Context) ([]string, error) { return root.PChannels(), nil }}}
	c, err := root.CreateCollection(ctx, contract.CreateCollectionRequest{DBName: "default", ShardsNum: 2,
		Schema: &schemapb.CollectionSchema{Name: "fa", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "4")},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ins := &msgpb.InsertRequest{CollectionID: c.ID, PartitionID: c.Partitions[0].ID, NumRows: 1, ShardName: c.VChannels[0]}
	grown, err := w.AppendInsert(ctx, c.PChannels[0], contract.Insert{CollectionID: c.ID, PartitionID: c.Partitions[0].ID,
		VChannel: c.VChannels[0], Rows: 1, Bytes: 8, Message: &msg.Message{Kind: msg.KindInsert, VChannel: c.VChannels[0], Insert: ins}})
	if err != nil {
		t.Fatal(err)
	}

	resp, err := srv.FlushAll(ctx, &milvuspb.FlushAllRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pchannels := root.PChannels()
	if ci := resp.GetClusterInfo(); ci.GetClusterId() != "3" || ci.GetCchannel() != "" || !slices.Equal(ci.GetPchannels(), pchannels) {
		t.Fatalf("cluster_info %v, want cluster 3 and %v", ci, pchannels)
	}
	if len(resp.GetFlushAllMsgs()) != len(pchannels) {
		t.Fatalf("%d messages for %d physical channels", len(resp.GetFlushAllMsgs()), len(pchannels))
	}
	var latest uint64
	for _, p := range pchannels {
		m := resp.GetFlushAllMsgs()[p]
		tt, ok := msg.MilvusTimeTick(m)
		if !ok || m.GetProperties()["_t"] != "37" || m.GetProperties()["_vc"] != p {
			t.Fatalf("%s: message %v", p, m)
		}
		id, err := strconv.ParseUint(m.GetId().GetId(), 36, 64)
		if err != nil {
			t.Fatalf("%s: id %q: %v", p, m.GetId().GetId(), err)
		}
		r, err := log.Read(ctx, p, logbroker.MessageID(id-1))
		if err != nil {
			t.Fatal(err)
		}
		lm, err := r.Next(ctx)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		dm, err := msg.Decode(lm.Payload, lm.Properties)
		if err != nil || dm.Kind != msg.KindFlushAll || dm.TS != tt {
			t.Fatalf("%s: the answer's message %d (tick %d) is %+v in the log, %v", p, id, tt, dm, err)
		}
		for _, cs := range dm.FlushAll {
			if cs.VChannel == c.VChannels[0] && !slices.Equal(cs.SegmentIDs, []int64{grown.SegmentID}) {
				t.Fatalf("%s: FlushAll sealed %v in %s, want [%d]", p, cs.SegmentIDs, cs.VChannel, grown.SegmentID)
			}
		}
		latest = max(latest, tt)
		end, err := w.LogEnd(ctx, p)
		if err != nil || end < resp.GetFlushAllTs() {
			t.Fatalf("%s: log ends at %d, before flush_all_ts %d (%v)", p, end, resp.GetFlushAllTs(), err)
		}
	}
	if resp.GetFlushAllTs() != latest {
		t.Fatalf("flush_all_ts %d, want the latest message's %d", resp.GetFlushAllTs(), latest)
	}
	if seg, _, err := data.Segment(ctx, grown.SegmentID); err != nil || seg.State != model.SegmentSealed {
		t.Fatalf("segment %d after FlushAll: %v %v", grown.SegmentID, seg.State, err)
	}
	if _, err := srv.FlushAll(ctx, &milvuspb.FlushAllRequest{}); err != nil {
		t.Fatalf("a second FlushAll at a collection flush rate of 0: %v", err)
	}
}
