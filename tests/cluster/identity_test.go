//go:build linux

package cluster

import (
	"os"
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
		c.roles[name].stop()
	}
	for _, tc := range []struct{ role, other string }{
		{"mixcoord", "the object store (S3"},
		{"streamingnode", "the log (NATS JetStream"},
	} {
		orig := c.roles[tc.role]
		r := &role{name: tc.role + "-wiped", bin: c.bin, dir: c.dir, metricsPort: orig.metricsPort,
			args: append(slices.Clone(orig.args), "--etcd.rootPath=cluster-test-wiped")}
		r.start(t)
		select {
		case <-r.done:
		case <-time.After(60 * time.Second):
			r.kill()
			t.Fatalf("%s started on a wiped meta store:\n%s", tc.role, tail(r.logPath()))
		}
		if r.cmd.ProcessState.Success() {
			t.Fatalf("%s exited 0 on a wiped meta store", tc.role)
		}
		b, err := os.ReadFile(r.logPath())
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		for _, want := range []string{`the meta store (etcd`, `rootPath \"cluster-test-wiped\"`, "has no cluster identity", tc.other, "wiped or replaced", "milvago recover"} {
			if !strings.Contains(log, want) {
				t.Errorf("%s's refusal does not say %q:\n%s", tc.role, want, tail(r.logPath()))
			}
		}
	}
	// The original prefix still starts: a refusal changed nothing.
	r := c.add(t, "mixcoord-again:mixcoord")
	r.waitReady(t, 90*time.Second)
}
