//go:build linux

package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
