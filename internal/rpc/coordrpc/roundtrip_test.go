package coordrpc_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
)

// serve starts g on an in-memory listener and returns a connection to it.
func serve(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	l := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	register(g)
	go g.Serve(l)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return l.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); g.Stop() })
	return conn
}

type coords struct {
	root  *rootcoord.Server
	data  *datacoord.Server
	index *indexcoord.Server

	rootC  *coordrpc.RootCoordClient
	dataC  *coordrpc.DataCoordClient
	indexC *coordrpc.IndexCoordClient
}

func newCoords(t *testing.T) *coords {
	ctx := context.Background()
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	c := &coords{}
	var err error
	if c.root, err = rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store}); err != nil {
		t.Fatal(err)
	}
	if c.data, err = datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: c.root}); err != nil {
		t.Fatal(err)
	}
	if c.index, err = indexcoord.New(ctx, indexcoord.Deps{KV: store, IDs: c.root, Segments: c.data, Builder: indexnode.New(objstore.NewMemory(), nil)}); err != nil {
		t.Fatal(err)
	}
	c.rootC = coordrpc.NewRootCoordClient(serve(t, func(g *grpc.Server) { coordrpc.RegisterRootCoord(g, c.root) }))
	c.dataC = coordrpc.NewDataCoordClient(serve(t, func(g *grpc.Server) { coordrpc.RegisterDataCoord(g, c.data) }))
	c.indexC = coordrpc.NewIndexCoordClient(serve(t, func(g *grpc.Server) { coordrpc.RegisterIndexCoord(g, c.index) }))
	return c
}

func schema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "docs", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "4"}}},
		{FieldID: 102, Name: "tag", DataType: schemapb.DataType_VarChar, Nullable: true,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "none"}},
			TypeParams:   []*commonpb.KeyValuePair{{Key: "max_length", Value: "16"}}},
	}}
}

// sameErr checks that an error crossed the wire with its code and text.
func sameErr(t *testing.T, direct, remote error, sentinel error) {
	t.Helper()
	if direct == nil || remote == nil {
		t.Fatalf("want errors, direct %v, remote %v", direct, remote)
	}
	if !errors.Is(remote, sentinel) || errs.CodeOf(remote) != errs.CodeOf(direct) || remote.Error() != direct.Error() {
		t.Fatalf("remote error %q (code %d), direct %q (code %d)", remote, errs.CodeOf(remote), direct, errs.CodeOf(direct))
	}
}

func TestRootCoordRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	created, err := c.rootC.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 2,
		ConsistencyLevel: commonpb.ConsistencyLevel_Bounded, Properties: []*commonpb.KeyValuePair{{Key: "k", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := c.root.DescribeCollection(ctx, "", "docs", 0)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := c.rootC.DescribeCollection(ctx, "", "docs", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*model.Collection{created, remote} {
		if got.ID != direct.ID || !reflect.DeepEqual(got.VChannels, direct.VChannels) || !reflect.DeepEqual(got.Partitions, direct.Partitions) ||
			got.Schema.GetFields()[2].GetDefaultValue().GetStringData() != "none" || got.ConsistencyLevel != direct.ConsistencyLevel || got.CreateTS != direct.CreateTS {
			t.Fatalf("collection over the wire %+v, direct %+v", got, direct)
		}
	}
	if err := c.rootC.CreatePartition(ctx, "", "docs", "p1"); err != nil {
		t.Fatal(err)
	}
	if err := c.rootC.CreateAlias(ctx, "", "a1", "docs"); err != nil {
		t.Fatal(err)
	}
	if name, err := c.rootC.DescribeAlias(ctx, "", "a1"); err != nil || name != "docs" {
		t.Fatalf("alias: %q, %v", name, err)
	}
	dbsR, err := c.rootC.ListDatabases(ctx)
	dbsD, _ := c.root.ListDatabases(ctx)
	if err != nil || !reflect.DeepEqual(dbsR, dbsD) {
		t.Fatalf("databases over the wire %v (%v), direct %v", dbsR, err, dbsD)
	}
	a, err := c.rootC.AllocID(ctx, 10)
	b, _ := c.root.AllocID(ctx, 1)
	if err != nil || b != a+10 {
		t.Fatalf("ids: remote %d (%v), then direct %d", a, err, b)
	}
	_, errD := c.root.DescribeCollection(ctx, "", "missing", 0)
	_, errR := c.rootC.DescribeCollection(ctx, "", "missing", 0)
	sameErr(t, errD, errR, errs.ErrCollectionNotFound)
	_, errD = c.root.DescribeDatabase(ctx, "nodb")
	_, errR = c.rootC.DescribeDatabase(ctx, "nodb")
	sameErr(t, errD, errR, errs.ErrDatabaseNotFound)
}

func TestDataAndIndexCoordRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	coll, err := c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	vc := coll.VChannels[0]
	a, err := c.dataC.AssignSegment(ctx, coll.ID, coll.Partitions[0].ID, vc, 3, 300, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.dataC.NoteBufferedRows(ctx, a.SegmentID, 3); err != nil {
		t.Fatal(err)
	}
	segR, ok, err := c.dataC.Segment(ctx, a.SegmentID)
	segD, _, _ := c.data.Segment(ctx, a.SegmentID)
	if err != nil || !ok || !reflect.DeepEqual(segR, segD) {
		t.Fatalf("segment over the wire %+v (%v %v), direct %+v", segR, ok, err, segD)
	}
	if _, ok, err := c.dataC.Segment(ctx, 424242); ok || err != nil {
		t.Fatalf("unknown segment: found %v, %v", ok, err)
	}
	sealed, err := c.dataC.SealChannel(ctx, coll.ID, vc, 99)
	if err != nil || len(sealed) != 1 || sealed[0] != a.SegmentID {
		t.Fatalf("seal: %v, %v", sealed, err)
	}
	if err := c.dataC.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a.SegmentID, NumRows: 3, Binlogs: map[int64]string{101: "insert_log/x"}, FlushTS: 99}); err != nil {
		t.Fatal(err)
	}
	if err := c.dataC.UpdateCheckpoint(ctx, vc, contract.Checkpoint{Position: 12, TS: 99}); err != nil {
		t.Fatal(err)
	}
	if cp, err := c.dataC.GetCheckpoint(ctx, vc); err != nil || cp != (contract.Checkpoint{Position: 12, TS: 99}) {
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}
	segsR, err := c.dataC.Segments(ctx, coll.ID, "")
	segsD, _ := c.data.Segments(ctx, coll.ID, "")
	if err != nil || !reflect.DeepEqual(segsR, segsD) || segsR[0].State != model.SegmentFlushed {
		t.Fatalf("segments over the wire %+v (%v), direct %+v", segsR, err, segsD)
	}
	if n, err := c.dataC.RowCount(ctx, coll.ID, 0); err != nil || n != 3 {
		t.Fatalf("rows %d, %v", n, err)
	}
	if ok, err := c.dataC.Flushed(ctx, []int64{a.SegmentID}); err != nil || !ok {
		t.Fatalf("flushed %v, %v", ok, err)
	}

	// Index definitions through the index coordinator's client.
	req := contract.CreateIndexRequest{Collection: coll, Field: coll.Field("tag"), Name: "tag_idx",
		Params: map[string]string{"index_type": "INVERTED"}, UserParams: map[string]string{"index_type": "INVERTED"}}
	if err := c.indexC.CreateIndex(ctx, req); err != nil {
		t.Fatal(err)
	}
	defsR, err := c.indexC.Indexes(ctx, coll.ID)
	defsD, _ := c.index.Indexes(ctx, coll.ID)
	if err != nil || len(defsR) != 1 || !reflect.DeepEqual(defsR, defsD) {
		t.Fatalf("indexes over the wire %+v (%v), direct %+v", defsR, err, defsD)
	}
	pR, err := c.indexC.IndexProgress(ctx, defsR[0])
	pD, _ := c.index.IndexProgress(ctx, defsD[0])
	if err != nil || pR != pD {
		t.Fatalf("progress over the wire %+v (%v), direct %+v", pR, err, pD)
	}
	vreq := req
	vreq.Field, vreq.Name = coll.Field("v"), "v_idx"
	vreq.Params = map[string]string{"index_type": "NOT_AN_INDEX", "metric_type": "L2"}
	errD := c.index.CreateIndex(ctx, vreq)
	errR := c.indexC.CreateIndex(ctx, vreq)
	if errD == nil || errR == nil || errR.Error() != errD.Error() || errs.CodeOf(errR) != errs.CodeOf(errD) {
		t.Fatalf("bad index: remote %v, direct %v", errR, errD)
	}
}

func TestTransportErrorIsUnavailable(t *testing.T) {
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = coordrpc.NewRootCoordClient(conn).AllocID(context.Background(), 1)
	if !errors.Is(err, errs.ErrServiceUnavailable) || !errs.IsRetriable(err) {
		t.Fatalf("dial failure: %v", err)
	}
}
