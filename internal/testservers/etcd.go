package testservers

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Why etcd built from go.etcd.io/etcd/server/v3 v3.7.3 rather than Debian's
// etcd-server 3.4: it is the version of our client and of the embedded
// server standalone runs, it builds in seconds from modules already in
// go.sum (no package to install, same on every machine), and it is what
// cluster deployments are told to run. The client itself speaks the v3 API
// that every etcd since 3.4 serves: the kv suite and the kill test pass
// against Debian bookworm's 3.4.23 too (MILVAGO_ETCD_BIN=/usr/bin/etcd).

// EtcdCluster is an etcd cluster of real etcd processes.
type EtcdCluster struct {
	// Members in the order of their names, etcd-0, etcd-1, ...
	Members []*EtcdMember
}

// EtcdMember is one member of an EtcdCluster.
type EtcdMember struct {
	*Process
	// ClientURL is the member's client URL, "http://127.0.0.1:PORT".
	ClientURL string
	// PeerURL is its raft peer URL.
	PeerURL string
}

// StartEtcd starts an n-member etcd cluster (the binary from
// MILVAGO_ETCD_BIN or "etcd" on PATH) and returns once every member
// reports itself healthy. Heartbeat 200 ms, election timeout 2 s (twice
// etcd's defaults, so that a CI machine busy with other tests does not
// trigger spurious elections), so leases shorter than 3 s are raised to 3 s,
// and a killed leader is replaced within a few seconds.
func StartEtcd(t testing.TB, n int) *EtcdCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("etcd cluster of %d members", n)
	}
	bin := Binary(t, "MILVAGO_ETCD_BIN", "etcd")
	root := t.TempDir()
	c := &EtcdCluster{}
	var initial []string
	for i := range n {
		m := &EtcdMember{
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		}
		c.Members = append(c.Members, m)
		initial = append(initial, fmt.Sprintf("etcd-%d=%s", i, m.PeerURL))
	}
	token := fmt.Sprintf("milvago-test-%d", time.Now().UnixNano())
	procs := make([]*Process, n)
	for i, m := range c.Members {
		name := fmt.Sprintf("etcd-%d", i)
		args := []string{
			"--name", name,
			"--data-dir", filepath.Join(root, name, "data"),
			"--listen-client-urls", m.ClientURL,
			"--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL,
			"--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","),
			// Ignored once the data directory exists: a restart rejoins.
			"--initial-cluster-state", "new",
			"--initial-cluster-token", token,
			"--heartbeat-interval", "200",
			"--election-timeout", "2000",
			"--logger", "zap",
			"--log-level", "warn",
			"--log-outputs", "stderr",
		}
		dir := filepath.Join(root, name)
		mkdir(t, dir)
		url := m.ClientURL + "/health"
		m.Process = newProcess(t, name, dir, bin, args, func(ctx context.Context) error {
			// 200 and health true once the member has a leader and
			// serves reads through raft.
			return httpCheck(ctx, url, 200, `"health":"true"`)
		})
		procs[i] = m.Process
	}
	start := time.Now()
	startAll(t, procs)
	t.Logf("etcd cluster of %d ready in %v: %s", n, time.Since(start).Round(time.Millisecond), strings.Join(c.Endpoints(), ","))
	return c
}

// Endpoints returns every member's client URL, for kv.EtcdConfig.Endpoints.
func (c *EtcdCluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}
