package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

// TestBadLogMessageThroughSDK injects into the log the message the auto-ID
// VarChar bug wrote (its primary key column is empty, it says 3 rows) and
// checks, through the Go SDK, that Flush of that collection answers
// Milvus's error naming the cause, while another collection on the same
// physical channel keeps flushing and serving.
func TestBadLogMessageThroughSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := DefaultStandalone()
	cfg.DataDir = t.TempDir()
	s, err := NewStandalone(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, gl, hl) }()
	defer func() { stop(); <-done }()
	// Serve answers "not ready" until its recovery ends; a loaded machine
	// can take seconds for it.
	for s.readyErr() != nil {
		select {
		case err := <-done:
			t.Fatalf("serve: %v", err)
		case <-ctx.Done():
			t.Fatal("standalone not ready")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cli, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: gl.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close(context.Background())

	create := func(name string) *model.Collection {
		t.Helper()
		if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, 4).WithAutoID(false).WithShardNum(1)); err != nil {
			t.Fatal(err)
		}
		c, err := s.root.DescribeCollection(ctx, "default", name, 0)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bad := create("bad")
	var good *model.Collection
	for i := 0; good == nil; i++ {
		if i == 40 {
			t.Fatal("no collection shares the bad one's physical channel")
		}
		if c := create(fmt.Sprintf("good_%d", i)); c.PChannels[0] == bad.PChannels[0] {
			good = c
		}
	}
	insert := func(name string, ids ...int64) {
		t.Helper()
		vecs := make([][]float32, len(ids))
		for i := range vecs {
			vecs[i] = []float32{float32(ids[i]), 1, 0, 0}
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("vector", 4, vecs)); err != nil {
			t.Fatal(err)
		}
	}
	flush := func(name string) error {
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		ft, err := cli.Flush(fctx, milvusclient.NewFlushOption(name))
		if err != nil {
			return err
		}
		return ft.Await(fctx)
	}

	insert("bad", 1, 2)
	fields := bad.Schema.GetFields()
	var pk, vec *schemapb.FieldSchema
	for _, f := range fields {
		switch f.GetName() {
		case "id":
			pk = f
		case "vector":
			vec = f
		}
	}
	ins := &msgpb.InsertRequest{CollectionID: bad.ID, PartitionID: bad.Partitions[0].ID, NumRows: 3, ShardName: bad.VChannels[0],
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64}, pk),
			column.ToFieldData(&column.FloatVector{Dim: 4, Data: make([]float32, 12)}, vec),
		}}
	if _, err := s.writer.AppendInsert(ctx, bad.PChannels[0], contract.Insert{CollectionID: bad.ID, PartitionID: bad.Partitions[0].ID,
		VChannel: bad.VChannels[0], Rows: 3, Bytes: 60, Message: &msg.Message{Kind: msg.KindInsert, VChannel: bad.VChannels[0], Insert: ins}}); err != nil {
		t.Fatal(err)
	}
	insert(good.Name, 10, 11)

	err = flush("bad")
	if merr.Code(err) != 5 || !strings.Contains(err.Error(), "has 0 rows, message says 3") || !strings.Contains(err.Error(), bad.VChannels[0]) {
		t.Fatalf("flush of the collection with a bad message: %v (code %d)", err, merr.Code(err))
	}
	if err := flush(good.Name); err != nil {
		t.Fatalf("flush of another collection on the channel: %v", err)
	}
	insert(good.Name, 12)
	if err := flush(good.Name); err != nil {
		t.Fatalf("second flush of another collection on the channel: %v", err)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(good.Name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := rs.GetColumn("count(*)").GetAsInt64(0); n != 3 {
		t.Fatalf("count(*) of the other collection = %d, want 3", n)
	}
	// The answer does not go away: a later Flush gives it at once.
	_, err = cli.Flush(ctx, milvusclient.NewFlushOption("bad"))
	if merr.Code(err) != 5 {
		t.Fatalf("second flush of the failed collection: %v", err)
	}
}
