package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// slowFaultsEnv opts in to the fault tests that take more than a minute.
const slowFaultsEnv = "MILVAGO_E2E_SLOW"

// TestFaultsKeepaliveIdleSDKClient: the official Go SDK pings every 5 s
// (its DefaultGrpcOpts), idle or not. An SDK client left idle for 65 s
// keeps its one connection (no GOAWAY "too_many_pings", which grpc-go's
// default enforcement sends after three such pings) and then works.
// Opt-in (MILVAGO_E2E_SLOW=1): it idles for over a minute.
func TestFaultsKeepaliveIdleSDKClient(t *testing.T) {
	if os.Getenv(slowFaultsEnv) == "" {
		t.Skipf("idles for 65 s: set %s=1", slowFaultsEnv)
	}
	standaloneOnly(t, "counts the connections the in-process server's listener accepted")
	srv, gl := startConfigured(t, func(*app.StandaloneConfig) {})
	ctx := context.Background()
	cctx, ccancel := context.WithTimeout(ctx, 3*time.Minute)
	defer ccancel()
	cli, err := milvusclient.New(cctx, &milvusclient.ClientConfig{Address: srv.addr})
	must(t, err)
	defer cli.Close(context.Background())
	must(t, cli.CreateCollection(cctx, milvusclient.SimpleCreateCollectionOptions("keepalive", 4)))
	_, err = cli.Insert(cctx, milvusclient.NewColumnBasedInsertOption("keepalive").
		WithFloatVectorColumn("vector", 4, [][]float32{{1, 2, 3, 4}}))
	must(t, err)
	before := gl.n.Load()

	time.Sleep(65 * time.Second)

	start := time.Now()
	rs, err := cli.Query(cctx, milvusclient.NewQueryOption("keepalive").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != 1 {
		t.Fatalf("count(*) = %d after the idle minute, want 1", c)
	}
	if after := gl.n.Load(); after != before {
		t.Fatalf("the idle SDK client reconnected (%d connections before the idle minute, %d after): the server closed its connection", before, after)
	}
	t.Logf("after 65 s idle: one connection (%d accepted in all), first call answered in %v", gl.n.Load(), time.Since(start))
}
