//go:build linux

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/testsupport/clusterproc"
)

// TestClusterProxyListensWhileStoresOpen (issue 11): a proxy started into
// a running cluster listens before it opens its stores. While they open
// (held 10 s by the app.openStores failpoint) a raw Connect and the Go
// SDK's connection get Milvus's "service not ready" (code 1), REST code 1;
// once the proxy is ready, both APIs serve. Every other role started so
// (a coordinator, each worker) listens before its stores open too: its
// /healthz answers 503 and its gRPC port "service not ready" (code 1)
// instead of refusing connections, and it serves once ready (the second
// coordinator stays a not-ready standby).
func TestClusterProxyListensWhileStoresOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	others := []string{"mixcoord-2:mixcoord", "streamingnode-2:streamingnode", "datanode-2:datanode", "querynode-2:querynode", "indexnode-2:indexnode"}
	env := map[string][]string{"proxy-2": {failpoint.EnvVar + "=app.openStores=sleep(10s)"}}
	for _, spec := range others {
		name, _, _ := strings.Cut(spec, ":")
		env[name] = []string{failpoint.EnvVar + "=app.openStores=sleep(20s)"}
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1, env: env},
		"mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	r := c.Add(t, "proxy-2:proxy")
	roles := map[string]*clusterproc.Role{}
	for _, spec := range others {
		name, _, _ := strings.Cut(spec, ":")
		roles[name] = c.Add(t, spec)
	}
	starting := make(chan error, len(roles))
	for _, role := range roles {
		go func() { starting <- checkStarting(ctx, c, role, start, 15*time.Second) }()
	}
	addr := c.ProxyAddr("proxy-2")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := milvuspb.NewMilvusServiceClient(conn)
	// The process is starting: its first answer, within the failpoint's 10 s.
	var resp *milvuspb.ConnectResponse
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		resp, err = raw.Connect(cctx, &milvuspb.ConnectRequest{}, grpc.WaitForReady(true))
		ccancel()
		if err == nil {
			break
		}
		if time.Since(start) > 8*time.Second {
			t.Fatalf("proxy-2 did not answer within 8 s of its start: %v\n%s", err, tail(r.LogPath()))
		}
	}
	if c := resp.GetStatus().GetCode(); c != 1 || !strings.Contains(resp.GetStatus().GetReason(), "not ready") {
		t.Fatalf("Connect while proxy-2's stores open: code %d %q, want 1 service not ready", c, resp.GetStatus().GetReason())
	}
	t.Logf("starting: proxy-2 answered code %d (%q) %v after its start", resp.GetStatus().GetCode(), resp.GetStatus().GetReason(),
		time.Since(start).Round(time.Millisecond))
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	if cli, err := milvusclient.New(sctx, &milvusclient.ClientConfig{Address: addr}); err == nil {
		cli.Close(ctx)
		t.Fatal("the Go SDK connected while proxy-2's stores open, want service not ready")
	} else if !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("the Go SDK while proxy-2's stores open: %v, want service not ready", err)
	}
	scancel()
	if code, msg := restList(t, addr); code != 1 || !strings.Contains(msg, "not ready") {
		t.Fatalf("REST while proxy-2's stores open: code %d %q, want 1 service not ready", code, msg)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("the checks took %v, past the failpoint's 10 s: they may not have run while the stores opened", time.Since(start))
	}
	for range roles {
		if err := <-starting; err != nil {
			t.Fatal(err)
		}
	}
	r.WaitReady(t, 90*time.Second)
	t.Logf("proxy-2 ready %v after its start", time.Since(start).Round(time.Millisecond))
	for name, role := range roles {
		if name == "mixcoord-2" {
			continue
		}
		role.WaitReady(t, 90*time.Second)
		t.Logf("%s ready %v after its start", name, time.Since(start).Round(time.Millisecond))
	}
	// The second coordinator, a standby, still answers "not ready".
	if err := checkStarting(ctx, c, roles["mixcoord-2"], time.Now(), 5*time.Second); err != nil {
		t.Fatalf("the standby coordinator: %v", err)
	}
	cli := connect(t, ctx, addr)
	if _, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil {
		t.Fatalf("list collections on proxy-2 once ready: %v", err)
	}
	if code, msg := restList(t, addr); code != 0 {
		t.Fatalf("REST on proxy-2 once ready: code %d %q, want 0", code, msg)
	}
}

// restList lists the collections through the RESTful API on addr and
// returns Milvus's code and message.
func restList(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v2/vectordb/collections/list", "application/json", bytes.NewBufferString(`{}`))
	if err != nil {
		t.Fatalf("REST: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("REST: decode: %v", err)
	}
	return out.Code, out.Message
}

// listensLine is a role's log line saying where it listens before its
// stores open (internal roles bind port 0 in these tests).
var listensLine = regexp.MustCompile(`milvago role listens; opening its stores.*?grpc[=":]+([^\s"]+)`)

// checkStarting checks, within bound of start, that role answers while
// its stores open: /healthz 503, /metrics 200, and a call on its gRPC port
// FailedPrecondition with Milvus's "service not ready".
func checkStarting(ctx context.Context, c *cluster, role *clusterproc.Role, start time.Time, bound time.Duration) error {
	var addr string
	for addr == "" {
		b, _ := os.ReadFile(role.LogPath())
		if m := listensLine.FindSubmatch(b); m != nil {
			addr = string(m[1])
			break
		}
		if time.Since(start) > bound {
			return fmt.Errorf("%s did not log where it listens within %v:\n%s", role.Name, bound, tail(role.LogPath()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	base := c.MetricsURL(role.Name)
	for _, ep := range []struct {
		path string
		want int
	}{{"/healthz", http.StatusServiceUnavailable}, {"/metrics", http.StatusOK}} {
		resp, err := http.Get(base + ep.path)
		if err != nil {
			return fmt.Errorf("%s %s while its stores open: %v", role.Name, ep.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != ep.want {
			return fmt.Errorf("%s %s while its stores open: %d, want %d", role.Name, ep.path, resp.StatusCode, ep.want)
		}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err = conn.Invoke(cctx, "/milvago.internal.Node/GetComponentInfos", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "service not ready") {
		return fmt.Errorf("%s's gRPC port %s while its stores open: %v, want FailedPrecondition service not ready", role.Name, addr, err)
	}
	if took := time.Since(start); took > bound {
		return fmt.Errorf("%s: the checks took %v, past %v: they may not have run while its stores opened", role.Name, took, bound)
	}
	return nil
}
