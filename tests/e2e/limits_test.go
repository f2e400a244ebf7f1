package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/testcerts"
)

// countingListener counts the connections a server accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startConfigured is startServer with a changed configuration; it returns
// the server and the count of connections its API port accepted (nil in
// cluster mode).
func startConfigured(t *testing.T, change func(*app.StandaloneConfig)) (*server, *countingListener) {
	t.Helper()
	if clusterMode() {
		// The configuration goes to the roles as keys (clusterFlags);
		// counting connections needs the in-process listener.
		return startOnCluster(t, "", change), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logger *slog.Logger
	if os.Getenv("MILVAGO_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := app.DefaultStandalone()
	cfg.DataDir = t.TempDir()
	change(&cfg)
	s, err := app.NewStandalone(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("start standalone: %v", err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: gl}
	srv := &server{addr: gl.Addr().String(), httpURL: "http://" + hl.Addr().String(), dir: cfg.DataDir, cancel: cancel, done: make(chan error, 1)}
	go func() { srv.done <- s.Serve(ctx, cl, hl) }()
	t.Cleanup(srv.stop)
	srv.waitReady(t, time.Minute)
	return srv, cl
}

// sdkTLS connects the SDK over TLS with cfg (the SDK's EnableTLSAuth
// trusts only the system's roots, so the test CA comes as a dial option).
func sdkTLS(ctx context.Context, addr string, cfg *tls.Config) (*milvusclient.Client, error) {
	opts := append(append([]grpc.DialOption{}, milvusclient.DefaultGrpcOpts...), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	return milvusclient.New(ctx, &milvusclient.ClientConfig{Address: addr, DialOptions: opts})
}

// TestSDKTLS: with common.security.tlsMode 1 the Go SDK works over TLS and
// a plain client is refused; with mode 2 a client needs a certificate from
// tls.caPemPath.
func TestSDKTLS(t *testing.T) {
	files, err := testcerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := files.ClientTLS(false)
	withCert, _ := files.ClientTLS(true)
	for _, mode := range []int{1, 2} {
		t.Run("mode"+strconv.Itoa(mode), func(t *testing.T) {
			srv, _ := startConfigured(t, func(c *app.StandaloneConfig) {
				c.Public.TLSMode = mode
				c.Public.TLS = config.TLS{ServerPemPath: files.ServerCert, ServerKeyPath: files.ServerKey, CAPemPath: files.CA}
			})
			ctx := testContext(t)
			good := trust
			if mode == 2 {
				good = withCert
			}
			cli, err := sdkTLS(ctx, srv.addr, good)
			if err != nil {
				t.Fatalf("TLS client: %v", err)
			}
			defer cli.Close(ctx)
			name := fmt.Sprintf("tls%d", mode)
			if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, 4)); err != nil {
				t.Fatal(err)
			}
			if names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil || len(names) != 1 {
				t.Fatalf("list over TLS: %v %v", names, err)
			}
			short, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if c, err := milvusclient.New(short, &milvusclient.ClientConfig{Address: srv.addr}); err == nil {
				c.Close(ctx)
				t.Fatal("a plain client connected")
			}
			if mode == 2 {
				short, cancel := context.WithTimeout(ctx, 3*time.Second)
				defer cancel()
				if c, err := sdkTLS(short, srv.addr, trust); err == nil {
					c.Close(ctx)
					t.Fatal("a client without a certificate connected")
				}
			}
		})
	}
}

// TestSDKIdleConnection: an idle Go SDK client (it pings every 5 s) keeps
// its one connection for more than 2 minutes.
func TestSDKIdleConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for 130 s")
	}
	t.Parallel()
	standaloneOnly(t, "counts the connections the in-process server's listener accepted")
	srv, accepted := startConfigured(t, func(*app.StandaloneConfig) {})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := srv.client(t)
	if _, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(130 * time.Second)
	if _, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil {
		t.Fatal(err)
	}
	if n := accepted.n.Load(); n != 1 {
		t.Fatalf("the idle SDK client needed %d connections: the server dropped it", n)
	}
}

// TestFlushRateSDK: with the configuration's defaults (quotaAndLimits on)
// a second Flush of a collection within 10 s is refused as Milvus refuses
// it (Milvus's TestFlushRate).
func TestFlushRateSDK(t *testing.T) {
	srv, _ := startConfigured(t, func(c *app.StandaloneConfig) {
		c.Public.Limits = config.Default(config.Standalone).Limits
	})
	ctx := testContext(t)
	cli := srv.client(t)
	if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("fr", 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("fr").WithFloatVectorColumn("vector", 4, [][]float32{{1, 2, 3, 4}})); err != nil {
		t.Fatal(err)
	}
	// Back to back, as Milvus's test: awaiting the first can take longer
	// than the 10 s the bucket needs to refill on a loaded machine.
	first, err := cli.Flush(ctx, milvusclient.NewFlushOption("fr"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cli.Flush(ctx, milvusclient.NewFlushOption("fr"))
	want := srv.rateLimited(0.1)
	if len(srv.proxies) > 1 {
		// A cluster's proxy learns how many proxies share the rate at
		// its first fetch of the quota center's verdict (every
		// quotaCenterCollectInterval, 3 s here); a Flush sent sooner is
		// refused at the whole rate.
		want = strings.TrimSuffix(want, srv.rateShare(0.1)) + "[rate="
	}
	wantCode(t, err, 8, want)
	if err := first.Await(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWriteProtection: above the memory high water level inserts and
// upserts are refused with Milvus's error while deletes, queries and
// searches go on.
func TestWriteProtection(t *testing.T) {
	srv, _ := startConfigured(t, func(c *app.StandaloneConfig) {
		c.Public.Limits = config.Default(config.Standalone).Limits
		c.Public.Limits.DataNodeMemoryHighWaterLevel = 0.0001 // any memory in use is too much
		c.Public.Limits.CollectInterval = 0.1
	})
	ctx := testContext(t)
	cli := srv.client(t)
	if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("wp", 4).WithAutoID(false)); err != nil {
		t.Fatal(err)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("wp").WithInt64Column("id", []int64{1}).WithFloatVectorColumn("vector", 4, [][]float32{{1, 2, 3, 4}}))
	wantCode(t, err, 9, "quota exceeded[reason=memory quota exceeded, please allocate more resources")
	_, err = cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption("wp").WithInt64Column("id", []int64{1}).WithFloatVectorColumn("vector", 4, [][]float32{{1, 2, 3, 4}}))
	wantCode(t, err, 9, "memory quota exceeded")
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption("wp").WithInt64IDs("id", []int64{1})); err != nil {
		t.Fatalf("delete refused: %v", err)
	}
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption("wp").WithFilter("id > 0").WithOutputFields("count(*)")); err != nil {
		t.Fatalf("query refused: %v", err)
	}
}

// TestSearchBounded: nq=1024, topk=16384 over 20,000 rows (16.7 M hits,
// 200 MB of keys and scores) fails at once with Milvus's maxOutputSize
// error instead of taking half a minute and gigabytes; the server's
// (a child process's) peak RSS grows by less than 100 MB. A smaller
// search of the same shape still works.
func TestSearchBounded(t *testing.T) {
	c := startChild(t, t.TempDir())
	ctx := testContext(t)
	cli := c.client(t)
	const dim, rows = 8, 20000
	if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("big", dim)); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	vec := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = r.Float32()
		}
		return v
	}
	vecs := make([][]float32, rows)
	for i := range vecs {
		vecs[i] = vec()
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("big").WithFloatVectorColumn("vector", dim, vecs)); err != nil {
		t.Fatal(err)
	}
	queries := make([]entity.Vector, 1024)
	for i := range queries {
		queries[i] = entity.FloatVector(vec())
	}
	before := procStatusKB(t, c.cmd.Process.Pid, "VmRSS")
	start := time.Now()
	_, err := cli.Search(ctx, milvusclient.NewSearchOption("big", 16384, queries).WithConsistencyLevel(entity.ClStrong))
	took := time.Since(start)
	wantCode(t, err, 1100, "search results exceed the maxOutputSize Limit 104857600")
	peak := procStatusKB(t, c.cmd.Process.Pid, "VmHWM")
	t.Logf("nq=1024 topk=16384 on %d rows: refused in %v; RSS before %d MB, peak %d MB", rows, took.Round(time.Millisecond), before>>10, peak>>10)
	if took > 10*time.Second || peak-before > 100<<10 {
		t.Fatalf("refusing took %v and %d MB", took, (peak-before)>>10)
	}
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption("big", 16384, queries[:8]).WithConsistencyLevel(entity.ClStrong))
	if err != nil || len(rs) != 8 || rs[0].ResultCount != 16384 {
		t.Fatalf("nq=8 topk=16384: %d results, %v", len(rs), err)
	}
}

// TestInsertRSS60MB measures the server's peak RSS growth for one 60 MB
// insert (a child process, so the client's copy is not counted) and
// bounds it below 10 times the request (measured: about 9x; the request,
// its decoded columns, the log messages, the log's own copies, the query
// node's growing segment and the data node's buffer are alive at once).
//
// It is a measurement, so it runs only when asked (MILVAGO_MEASURE_RSS=1,
// on a quiet machine): among the suite's parallel tests the server's garbage
// collector falls behind and the same insert measured 36x.
func TestInsertRSS60MB(t *testing.T) {
	if os.Getenv("MILVAGO_MEASURE_RSS") == "" {
		t.Skip("a memory measurement: MILVAGO_MEASURE_RSS=1 go test ./tests/e2e -run TestInsertRSS60MB -v")
	}
	c := startChild(t, t.TempDir())
	ctx := testContext(t)
	cli := c.client(t)
	const dim = 128
	rows := 60 << 20 / (dim * 4)
	if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("rss", dim)); err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, rows)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = r.Float32()
		}
	}
	time.Sleep(time.Second) // let start-up garbage settle
	before := procStatusKB(t, c.cmd.Process.Pid, "VmRSS")
	hwmBefore := procStatusKB(t, c.cmd.Process.Pid, "VmHWM")
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("rss").WithFloatVectorColumn("vector", dim, vecs)); err != nil {
		t.Fatal(err)
	}
	peak := procStatusKB(t, c.cmd.Process.Pid, "VmHWM")
	growth := peak - max(before, 0)
	t.Logf("60 MB insert (%d rows of dim %d): RSS before %d MB (peak so far %d MB), peak after %d MB: +%d MB, %.1fx the request",
		rows, dim, before>>10, hwmBefore>>10, peak>>10, growth>>10, float64(growth)/float64(60<<10))
	if growth >= 10*(60<<10) {
		t.Fatalf("a 60 MB insert grew the server's RSS by %d MB", growth>>10)
	}
}

// procStatusKB reads a kB field of /proc/PID/status.
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
