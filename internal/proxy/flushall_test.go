package proxy

import (
	"context"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	kvstore "github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rootcoord"
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
