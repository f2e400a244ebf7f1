//go:build linux

package cluster

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestClusterRestartOnTakenPort: a proxy killed and started again while
// another process holds its ports (a parallel test package's server, in
// CI) comes up on fresh ones instead of failing the test that restarted
// it (the harness, clusterproc.Role.WaitReady).
func TestClusterRestartOnTakenPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1}, "mixcoord", "streamingnode", "proxy")
	p := c.Roles["proxy"]
	p.Kill()
	oldMetrics, oldAddr := p.MetricsPort, c.ProxyAddr("proxy")
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", oldMetrics), oldAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("hold %s: %v", addr, err)
		}
		defer l.Close()
	}
	p.Start(t)
	p.WaitReady(t, 90*time.Second)
	if p.MetricsPort == oldMetrics || c.ProxyAddr("proxy") == oldAddr {
		t.Fatalf("the proxy kept its taken ports: metrics %d, gRPC %s", p.MetricsPort, c.ProxyAddr("proxy"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := connect(t, ctx, c.ProxyAddr("proxy")).ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil {
		t.Fatalf("list collections on the restarted proxy: %v", err)
	}
}
