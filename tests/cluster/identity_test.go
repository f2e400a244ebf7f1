//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/identity"
)

// TestClusterWipedMetaStoreIsRefused restarts roles on an empty etcd
// prefix (as after a wiped meta store) next to the S3 bucket and NATS
// streams the first start stamped: each role refuses to start, naming the
// meta store and the store that still carries the cluster identity.
func TestClusterWipedMetaStoreIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode")
	// The first start stamped etcd and S3 (mixcoord) and NATS
	// (streamingnode).
	for _, name := range []string{"streamingnode", "mixcoord"} {
		c.Roles[name].Stop()
	}
	for _, tc := range []struct{ role, other string }{
		{"mixcoord", "the object store (S3"},
		{"streamingnode", "the log (NATS JetStream"},
	} {
		orig := c.Roles[tc.role]
		r := &role{Name: tc.role + "-wiped", Bin: c.Bin, Dir: c.Dir, MetricsPort: orig.MetricsPort,
			Args: append(slices.Clone(orig.Args), "--etcd.rootPath=cluster-test-wiped")}
		r.Start(t)
		select {
		case <-r.Done:
		case <-time.After(60 * time.Second):
			r.Kill()
			t.Fatalf("%s started on a wiped meta store:\n%s", tc.role, tail(r.LogPath()))
		}
		if r.Cmd.ProcessState.Success() {
			t.Fatalf("%s exited 0 on a wiped meta store", tc.role)
		}
		b, err := os.ReadFile(r.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		for _, want := range []string{`the meta store (etcd`, `rootPath \"cluster-test-wiped\"`, "has no cluster identity", tc.other, "wiped or replaced", "milvago recover"} {
			if !strings.Contains(log, want) {
				t.Errorf("%s's refusal does not say %q:\n%s", tc.role, want, tail(r.LogPath()))
			}
		}
	}
	// `milvago recover meta` adopts the empty prefix (the cluster is
	// stopped); the roles then start on it.
	orig, err := os.ReadFile(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	wiped := filepath.Join(c.Dir, "wiped.yaml")
	if err := os.WriteFile(wiped, []byte(strings.Replace(string(orig), "rootPath: cluster-test", "rootPath: cluster-test-wiped", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(c.Bin, "recover", "--config", wiped, "status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "A start would refuse") {
		t.Fatalf("recover status: %v\n%s", err, out)
	}
	if out, err := exec.Command(c.Bin, "recover", "--config", wiped, "meta").CombinedOutput(); err == nil || !strings.Contains(string(out), "--yes") {
		t.Fatalf("recover meta without --yes: %v\n%s", err, out)
	}
	out, err = exec.Command(c.Bin, "recover", "--config", wiped, "meta", "--yes").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Adopted the meta store") {
		t.Fatalf("recover meta: %v\n%s", err, out)
	}
	t.Logf("milvago recover meta:\n%s", out)
	c.Config = wiped
	for _, name := range []string{"mixcoord-adopted:mixcoord", "streamingnode-adopted:streamingnode"} {
		c.Add(t, name).WaitReady(t, 90*time.Second)
	}
}

// TestClusterRestartFindsMetaStoreCurrent: ordinary restarts of a
// cluster, every role at once, find the meta store current: no role logs
// that it is behind the object store's high-water mark, and the marks in
// the object store keep every counter (the root coordinator's IDs and
// timestamps, the roles' server IDs). Before the first restart the server
// ID counter is put just below its mark, so the roles that register raise
// the mark at about the same time (as every 1,024 server IDs, after many
// restarts of a test cluster). The races that made restarts warn (two
// processes' raises interleaved, a raise stopped between its two writes)
// are too narrow to come up reliably here; internal/identity's
// watermark_race_test.go reproduces each deterministically.
func TestClusterRestartFindsMetaStoreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode-1:querynode", "querynode-2:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	objectMarks := func() (map[string]uint64, []byte) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(c.ObjectsDir(), identity.WatermarkObjectKey))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]uint64
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %q: %v", identity.WatermarkObjectKey, b, err)
		}
		return m, b
	}
	marks, _ := objectMarks()
	store := meta(c, t, ctx)
	if _, err := store.Put(ctx, "session/id", fmt.Appendf(nil, "%d", marks[identity.CounterSession]-1)); err != nil {
		t.Fatal(err)
	}
	c.Restart(t)
	c.Restart(t)
	const behind = "the meta store is behind the object store's high-water mark"
	for _, name := range c.Order {
		b, err := os.ReadFile(c.Roles[name].LogPath())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), behind) {
			t.Errorf("%s, restarted on its own meta store, logged %q:\n%s", name, behind, tail(c.Roles[name].LogPath()))
		}
	}
	after, b := objectMarks()
	for _, counter := range []string{identity.CounterID, identity.CounterTSO, identity.CounterSession} {
		if after[counter] == 0 {
			t.Errorf("the object store's high-water marks %s lack the %s counter", b, counter)
		}
	}
	if after[identity.CounterSession] <= marks[identity.CounterSession] {
		t.Errorf("the server ID mark %d was not raised past %d by the roles that registered above it", after[identity.CounterSession], marks[identity.CounterSession])
	}
}
