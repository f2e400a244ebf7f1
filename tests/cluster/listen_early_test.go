//go:build linux

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/failpoint"
)

// TestClusterProxyListensWhileStoresOpen (issue 11): a proxy started into
// a running cluster listens before it opens its stores. While they open
// (held 10 s by the app.openStores failpoint) a raw Connect and the Go
// SDK's connection get Milvus's "service not ready" (code 1), REST code 1;
// once the proxy is ready, both APIs serve.
func TestClusterProxyListensWhileStoresOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1,
		env: map[string][]string{"proxy-2": {failpoint.EnvVar + "=app.openStores=sleep(10s)"}}},
		"mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	r := c.Add(t, "proxy-2:proxy")
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
	r.WaitReady(t, 90*time.Second)
	t.Logf("proxy-2 ready %v after its start", time.Since(start).Round(time.Millisecond))
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
