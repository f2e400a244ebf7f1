package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// child is a standalone server in its own process.
type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	standaloneOnly(t, "kills the server process (a child process of the test binary)")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- addr
			}
		}
	}()
	select {
	case addr := <-ready:
		c := &child{cmd: cmd, addr: addr}
		t.Cleanup(func() { c.kill() })
		return c
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child server did not become ready")
		return nil
	}
}

func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func (c *child) client(t *testing.T) *milvusclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: c.addr})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cli.Close(context.Background()) })
	return cli
}

type row struct {
	tag string
	vec []float32
}

// TestDurabilityKill9 acknowledges inserts, upserts and deletes — some
// flushed to the object store, some only in the log, some in flight when
// the server dies — then kills the server with SIGKILL, restarts it on the
// same directory and checks that every acknowledged write is there and
// nothing else is.
func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	srv := startChild(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "durable", 8
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))

	r := rand.New(rand.NewPCG(3, 4))
	want := map[int64]row{}
	insert := func(cli *milvusclient.Client, lo, hi int64, tag string, upsert bool) error {
		ids := make([]int64, 0, hi-lo)
		tags := make([]string, 0, hi-lo)
		vecs := make([][]float32, 0, hi-lo)
		for id := lo; id < hi; id++ {
			ids = append(ids, id)
			tags = append(tags, fmt.Sprintf("%s-%d", tag, id))
			v := make([]float32, dim)
			for j := range v {
				v[j] = r.Float32()
			}
			vecs = append(vecs, v)
		}
		opt := milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithVarcharColumn("tag", tags).WithFloatVectorColumn("vec", dim, vecs)
		var err error
		if upsert {
			_, err = cli.Upsert(ctx, opt)
		} else {
			_, err = cli.Insert(ctx, opt)
		}
		if err != nil {
			return err
		}
		for i, id := range ids {
			want[id] = row{tag: tags[i], vec: vecs[i]}
		}
		return nil
	}
	// Batch A, flushed to the object store.
	must(t, insert(cli, 0, 1000, "a", false))
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	must(t, err)
	must(t, ft.Await(ctx))
	// Batch B, only in the log.
	must(t, insert(cli, 1000, 1500, "b", false))
	// Upserts over flushed and logged rows.
	must(t, insert(cli, 900, 1100, "u", true))
	// Deletes of flushed and logged rows, by key and by filter.
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id in [0, 1, 2, 1200, 1201]"))
	must(t, err)
	for _, id := range []int64{0, 1, 2, 1200, 1201} {
		delete(want, id)
	}
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr(`tag like "u-95%"`))
	must(t, err)
	for id := int64(950); id < 960; id++ {
		delete(want, id)
	}
	// Writes in flight when the server dies: acknowledged ones must survive.
	var mu sync.Mutex
	inflight := map[int64]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := int64(0); ; b++ {
			select {
			case <-stop:
				return
			default:
			}
			lo := 10000 + b*50
			mu.Lock()
			for id := lo; id < lo+50; id++ {
				inflight[id] = true
			}
			err := insert(cli, lo, lo+50, "f", false)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	srv.kill()
	close(stop)
	<-done

	srv2 := startChild(t, dir)
	cli2 := srv2.client(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := cli2.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
		if err == nil && st.State == entity.LoadStateLoaded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collection not loaded again after restart: %v %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[int64]string{}
	const page = 4000
	for offset := 0; ; offset += page {
		qr, err := cli2.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").
			WithOutputFields("id", "tag").WithOffset(offset).WithLimit(page).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		ids := qr.GetColumn("id").(*column.ColumnInt64).Data()
		tags := qr.GetColumn("tag").(*column.ColumnVarChar).Data()
		for i, id := range ids {
			if _, dup := got[id]; dup {
				t.Fatalf("id %d returned twice", id)
			}
			got[id] = tags[i]
		}
		if len(ids) < page {
			break
		}
	}
	for id, w := range want {
		if got[id] != w.tag {
			t.Fatalf("acknowledged id %d: got tag %q, want %q", id, got[id], w.tag)
		}
	}
	for id, tag := range got {
		if _, ok := want[id]; !ok && !inflight[id] {
			t.Fatalf("id %d (tag %q) was never acknowledged or was deleted, yet it is there", id, tag)
		}
	}
	cnt, err := cli2.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if c, _ := cnt.GetColumn("count(*)").GetAsInt64(0); c != int64(len(got)) {
		t.Fatalf("count(*) = %d, query returned %d rows", c, len(got))
	}
	t.Logf("after kill -9: %d acknowledged rows all present (%d in flight at the kill)", len(want), len(got)-len(want))
	// GetCollectionStatistics counts inserted rows, deletes not subtracted
	// (as Milvus does before compaction): 1000 + 500 + 200 upserted + the
	// in-flight batches that reached the log. Unflushed counts come back
	// from the data node's replay of the log.
	wantRows := int64(1700)
	for _, tag := range got {
		if strings.HasPrefix(tag, "f-") {
			wantRows++
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		stats, err := cli2.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
		must(t, err)
		if stats["row_count"] == strconv.FormatInt(wantRows, 10) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("row_count after restart = %s, want %d", stats["row_count"], wantRows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A vector search sees the restored rows too.
	rs, err := cli2.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector(want[1400].vec)}).
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if id, _ := rs[0].IDs.GetAsInt64(0); id != 1400 {
		t.Fatalf("search after restart found %d, want 1400", id)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
