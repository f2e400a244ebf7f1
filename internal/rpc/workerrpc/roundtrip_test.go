package workerrpc_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc/framed"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
	"github.com/milvago/milvago/internal/streaming"
	"github.com/milvago/milvago/internal/tso"
)

const (
	pch  = "dml_0"
	vch  = "dml_0_9v0"
	coll = 9
	part = 90
	dim  = 2
)

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

type env struct {
	ctx    context.Context
	data   *datacoord.Server
	qn     *querynode.Server
	coll   *model.Collection
	writer *workerrpc.StreamingClient
	node   *workerrpc.QueryNodeClient
	qs     *workerrpc.QueryNodeServer
	dnode  *workerrpc.DataNodeClient
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := kv.NewMemory()
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	objects := objstore.NewMemory()
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); log.Close(); store.Close() })
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	data, err := datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	w := streaming.New(streaming.Default(), streaming.Deps{Log: log, TSO: root, Segments: data})
	dn := datanode.New(datanode.Deps{Log: log, Objects: objects, Coord: data, IDs: root})
	e := &env{ctx: ctx, data: data}
	e.writer = workerrpc.NewStreamingClient(serve(t, func(g *grpc.Server) { workerrpc.RegisterStreamingNode(g, w) }))
	e.qn = querynode.New(querynode.Deps{Log: log, Objects: objects, Syncer: e.writer})
	e.qn.Start(ctx)
	e.node = workerrpc.NewQueryNodeClient(serve(t, func(g *grpc.Server) { e.qs = workerrpc.RegisterQueryNode(g, e.qn, nil) }))
	e.dnode = workerrpc.NewDataNodeClient(serve(t, func(g *grpc.Server) { workerrpc.RegisterDataNode(g, dn) }))
	e.coll = &model.Collection{ID: coll, Name: "c", VChannels: []string{vch}, PChannels: []string{pch},
		Partitions: []model.Partition{{ID: part, Name: model.DefaultPartition}},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
			{FieldID: 102, Name: "tag", DataType: schemapb.DataType_VarChar, TypeParams: []*commonpb.KeyValuePair{{Key: "max_length", Value: "8"}}},
		}}}
	for _, run := range []func(context.Context) error{w.Run, dn.Run, e.qn.Run} {
		wg.Go(func() { run(ctx) })
	}
	return e
}

func (e *env) insert(t *testing.T, pks ...int64) contract.AppendResult {
	t.Helper()
	var vecs []float32
	var tags []string
	for _, pk := range pks {
		vecs = append(vecs, float32(pk), 1)
		tags = append(tags, "t"+string(rune('a'+pk%3)))
	}
	f := e.coll.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: coll, PartitionID: part, NumRows: uint64(len(pks)), ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: vecs}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: tags}, f[2]),
		}}
	r, err := e.writer.AppendInsert(e.ctx, pch, contract.Insert{CollectionID: coll, PartitionID: part, VChannel: vch, Rows: int64(len(pks)),
		Bytes: int64(len(pks) * 24), Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}})
	if err != nil {
		t.Fatal(err)
	}
	if r.SegmentID == 0 || r.TS == 0 {
		t.Fatalf("append result %+v", r)
	}
	return r
}

func TestQueryNodeAndStreamingRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	if err := e.dnode.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	e.insert(t, 1, 2, 3, 4, 5, 6)
	// Seal through the client: the data node flushes the segment.
	ids, _, err := e.writer.Seal(ctx, pch, vch, coll)
	if err != nil || len(ids) != 1 {
		t.Fatalf("seal: %v, %v", ids, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, _ := e.data.Flushed(ctx, ids)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("segment not flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	seg, _, _ := e.data.Segment(ctx, ids[0])
	cp, _ := e.data.GetCheckpoint(ctx, vch)
	last := e.insert(t, 7, 8, 9)
	del := &msg.Message{Kind: msg.KindDelete, VChannel: vch, Delete: &msgpb.DeleteRequest{CollectionID: coll, ShardName: vch, NumRows: 1,
		PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{2}}}}}}
	dr, err := e.writer.AppendDelete(ctx, pch, del)
	if err != nil || dr.TS <= last.TS {
		t.Fatalf("delete: %+v, %v", dr, err)
	}

	// Load through the client: one sealed segment plus the log after it.
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: cp, Sealed: []contract.SegmentPlan{{Segment: seg}}}
	if err := e.node.LoadCollection(ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	// Progress only grows: the remote answer lies between two direct ones.
	for {
		before, _, _ := e.qn.Progress(ctx, coll)
		p, ok, err := e.node.Progress(ctx, coll)
		after, _, _ := e.qn.Progress(ctx, coll)
		if err != nil || !ok || p < before || p > after {
			t.Fatalf("progress over the wire %d %v %v, direct %d..%d", p, ok, err, before, after)
		}
		if p == 100 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}

	filter, err := expr.Parse(e.coll.Schema, `tag != "tb" and id > 1`, nil)
	if err != nil {
		t.Fatal(err)
	}
	sreq := &contract.SearchRequest{CollectionID: coll, VChannel: vch, GuaranteeTS: dr.TS, OutputFields: []int64{102},
		Search: segment.SearchRequest{FieldID: 101, Queries: index.Dataset{Dim: dim, Float: []float32{0, 0, 9, 1}}, Metric: index.L2,
			Params: index.SearchParams{K: 4}, Filter: filter}}
	remote, err := e.node.Search(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := e.qn.Search(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	// The two reads may run at different service times: compare those apart.
	if remote.MVCCTs == 0 || direct.MVCCTs == 0 {
		t.Fatalf("read timestamps: over the wire %d, direct %d", remote.MVCCTs, direct.MVCCTs)
	}
	remote.MVCCTs, direct.MVCCTs = 0, 0
	if !reflect.DeepEqual(remote, direct) {
		t.Fatalf("search over the wire %+v, direct %+v", remote, direct)
	}
	if remote.NQ != 2 || remote.IntPKs[0] == 2 {
		t.Fatalf("search result %+v", remote)
	}
	checkFramedSearch(t, e, sreq, direct)
	checkSubSearches(t, e, sreq)
	qreq := &contract.QueryRequest{CollectionID: coll, VChannel: vch, GuaranteeTS: dr.TS, Filter: filter, OutputFields: []int64{100, 102}}
	qr, err := e.node.Query(ctx, qreq)
	qd, _ := e.qn.Query(ctx, qreq)
	if err == nil && (qr.MVCCTs == 0 || qd.MVCCTs == 0) {
		t.Fatalf("read timestamps: over the wire %d, direct %d", qr.MVCCTs, qd.MVCCTs)
	}
	if err == nil {
		qr.MVCCTs, qd.MVCCTs = 0, 0
	}
	if err != nil || !reflect.DeepEqual(qr, qd) || len(qr.IntPKs) == 0 {
		t.Fatalf("query over the wire %+v (%v), direct %+v", qr, err, qd)
	}
	qreq.CountOnly, qreq.Filter, qreq.OutputFields = true, nil, nil
	if n, err := e.node.Query(ctx, qreq); err != nil || n.Count != 8 {
		t.Fatalf("count over the wire: %+v, %v", n, err)
	}

	// A shard the node does not serve: the Milvus error crosses intact.
	_, errR := e.node.Query(ctx, &contract.QueryRequest{CollectionID: 77, VChannel: vch})
	_, errD := e.qn.Query(ctx, &contract.QueryRequest{CollectionID: 77, VChannel: vch})
	if !errors.Is(errR, errs.ErrCollectionNotLoaded) || errR.Error() != errD.Error() {
		t.Fatalf("not loaded: remote %v, direct %v", errR, errD)
	}
	if err := e.node.ReleaseCollection(ctx, coll); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.node.Progress(ctx, coll); ok {
		t.Fatal("still loaded after release")
	}
}

func TestIndexNodeRoundTrip(t *testing.T) {
	ctx := context.Background()
	node := indexnode.New(objstore.NewMemory(), nil)
	cli := workerrpc.NewIndexNodeClient(serve(t, func(g *grpc.Server) { workerrpc.RegisterIndexNode(g, node) }))
	task := contract.BuildTask{BuildID: 1, Spec: index.Spec{Type: "HNSW", Metric: index.L2, Dim: 2, Params: map[string]string{"M": "8"}}, BinlogPath: "missing"}
	_, errR := cli.Build(ctx, task)
	_, errD := node.Build(ctx, task)
	if errR == nil || errD == nil || errR.Error() != errD.Error() || errs.CodeOf(errR) != errs.CodeOf(errD) {
		t.Fatalf("build of a missing binlog: remote %v, direct %v", errR, errD)
	}
}

// TestIndexNodeAnalyzeRoundTrip: an analyze task run through the client
// writes the file the direct call writes and reports the same result; a
// failure keeps its text and code.
func TestIndexNodeAnalyzeRoundTrip(t *testing.T) {
	ctx := context.Background()
	objs := objstore.NewMemory()
	b, err := storage.EncodeColumn(&column.FloatVector{Dim: 2, Data: []float32{0, 0, 1, 1, 10, 10, 11, 11}})
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Put(ctx, "insert_log/1/2/3/101/4", b); err != nil {
		t.Fatal(err)
	}
	node := indexnode.New(objs, nil)
	cli := workerrpc.NewIndexNodeClient(serve(t, func(g *grpc.Server) { workerrpc.RegisterIndexNode(g, node) }))
	task := contract.AnalyzeTask{TaskID: 5, FieldID: 101, Dim: 2, SegmentIDs: []int64{3, 7}, BinlogPaths: []string{"insert_log/1/2/3/101/4", ""},
		NumClusters: 2, TrainRatio: 1, Seed: 5}
	r, err := cli.Analyze(ctx, task)
	if err != nil || r.NumCentroids != 2 || r.NumRows != 4 || r.CentroidsFile != storage.AnalyzeFilePath(5, storage.CentroidsFile) ||
		!slices.Equal(r.MappingFiles, []string{storage.OffsetMappingPath(5, 3), ""}) {
		t.Fatalf("remote analysis %+v, %v", r, err)
	}
	remote, _ := objs.Get(ctx, r.CentroidsFile)
	d, err := node.Analyze(ctx, task)
	direct, _ := objs.Get(ctx, d.CentroidsFile)
	if err != nil || d.CentroidsFile != r.CentroidsFile || string(remote) != string(direct) {
		t.Fatalf("direct analysis %+v, %v: another file", d, err)
	}
	task.BinlogPaths, task.SegmentIDs = []string{"missing"}, []int64{3}
	_, errR := cli.Analyze(ctx, task)
	_, errD := node.Analyze(ctx, task)
	if errR == nil || errD == nil || errR.Error() != errD.Error() || errs.CodeOf(errR) != errs.CodeOf(errD) ||
		!errors.Is(errR, errs.ErrIoKeyNotFound) {
		t.Fatalf("analysis of a missing binlog: remote %v, direct %v", errR, errD)
	}
}

// framedNode serves e's query node's searches as frames (the proxy's path,
// internal/rpc/framed) on a TCP listener, or refuses each with refuse if
// not nil; it returns the listener's address.
func framedNode(t *testing.T, e *env, refuse error) string {
	t.Helper()
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := framed.Split(root, func(ctx context.Context, h framed.Header, payload []byte) []byte {
		if refuse != nil {
			return workerrpc.FramedRefusal(refuse)
		}
		return e.qs.FramedSearch(ctx, payload)
	}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { l.Close(); l.Wait() })
	return root.Addr().String()
}

// checkFramedSearch searches over framed connections: the same hits as
// the direct search, the node's errors intact, and gRPC when the framed
// connection fails.
func checkFramedSearch(t *testing.T, e *env, sreq *contract.SearchRequest, direct *contract.SearchResult) {
	t.Helper()
	ctx := e.ctx
	caller := func() (int64, error) { return 5, nil }
	fc := framed.NewClient(framedNode(t, e, nil), 0)
	defer fc.Close()
	node := e.node.WithFramed(fc, caller)
	for range 3 { // a new connection, then a pooled one
		got, err := node.Search(ctx, sreq)
		if err != nil {
			t.Fatal(err)
		}
		if got.MVCCTs == 0 {
			t.Fatal("framed search without a read timestamp")
		}
		got.MVCCTs = 0
		if !reflect.DeepEqual(got, direct) {
			t.Fatalf("framed search %+v, direct %+v", got, direct)
		}
	}
	bad := *sreq
	bad.CollectionID = 77
	_, errF := node.Search(ctx, &bad)
	_, errD := e.qn.Search(ctx, &bad)
	if !errors.Is(errF, errs.ErrCollectionNotLoaded) || errF.Error() != "querynode: "+errD.Error() && errF.Error() != errD.Error() {
		t.Fatalf("not loaded: framed %v, direct %v", errF, errD)
	}
	// A refusal of the node's fence crosses with its code, and is not
	// sent again over gRPC (which would answer).
	rc := framed.NewClient(framedNode(t, e, errs.NodeNotMatch(8, 9)), 8)
	defer rc.Close()
	if _, err := e.node.WithFramed(rc, caller).Search(ctx, sreq); !errors.Is(err, errs.ErrNodeNotMatch) {
		t.Fatalf("refused framed search: %v", err)
	}
	// The caller's own fence refuses to send.
	offline := func() (int64, error) { return 0, errs.NodeOffline(5, "its session expired") }
	if _, err := e.node.WithFramed(fc, offline).Search(ctx, sreq); !errors.Is(err, errs.ErrNodeOffline) {
		t.Fatalf("framed search from an expired session: %v", err)
	}
	// No framed server at the address: the search goes over gRPC.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	dc := framed.NewClient(dead, 0)
	defer dc.Close()
	got, err := e.node.WithFramed(dc, caller).Search(ctx, sreq)
	if err != nil {
		t.Fatalf("search with its framed connection failing: %v", err)
	}
	got.MVCCTs = 0
	if !reflect.DeepEqual(got, direct) {
		t.Fatalf("search over gRPC after the framed failure %+v, direct %+v", got, direct)
	}
}

// checkSubSearches: a hybrid search's sub-searches cross in one request
// (contract.SearchRequest.Subs) with the TTL time and come back in order,
// every answer read at the request's one MVCC timestamp, each the answer
// of the sub-search asked alone at that timestamp.
func checkSubSearches(t *testing.T, e *env, sreq *contract.SearchRequest) {
	t.Helper()
	second := *sreq
	second.Search.Filter = nil
	second.Search.Params.K = 2
	ttlNow := tso.Compose(time.Now(), 0)
	multi := &contract.SearchRequest{CollectionID: sreq.CollectionID, VChannel: sreq.VChannel, GuaranteeTS: sreq.GuaranteeTS,
		TTLNow: ttlNow, Subs: []*contract.SearchRequest{sreq, &second}}
	got, err := e.node.Search(e.ctx, multi)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Subs) != 2 || got.MVCCTs == 0 {
		t.Fatalf("sub-searches over the wire: %d answers, read at %d", len(got.Subs), got.MVCCTs)
	}
	for i, sub := range []*contract.SearchRequest{sreq, &second} {
		if got.Subs[i].MVCCTs != got.MVCCTs {
			t.Fatalf("sub-search %d read at %d, the request at %d", i, got.Subs[i].MVCCTs, got.MVCCTs)
		}
		alone := *sub
		alone.GuaranteeTS, alone.PinMVCC, alone.TTLNow = got.MVCCTs, true, ttlNow
		want, err := e.qn.Search(e.ctx, &alone)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Subs[i], want) {
			t.Fatalf("sub-search %d over the wire %+v, alone %+v", i, got.Subs[i], want)
		}
	}
	if len(got.Subs[1].IntPKs) != 2*got.Subs[1].NQ {
		t.Fatalf("second sub-search: %d hits for %d queries of k 2", len(got.Subs[1].IntPKs), got.Subs[1].NQ)
	}
}
