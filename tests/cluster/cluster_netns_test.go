//go:build linux

package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/testservers"
	"github.com/milvago/milvago/internal/testsupport/clusterproc"
)

// netns is a network namespace joined to the host's by a veth pair: the
// host end hostIP, the namespace's end nsIP (a /30).
type netns struct {
	name, hostIf, nsIf string
	hostIP, nsIP       string
}

// ipCmd runs ip(8) with args.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetns creates a network namespace and its veth link to the host, or
// skips the test where the machine does not allow it (not root, no ip(8),
// no network namespaces: containers without CAP_SYS_ADMIN, ...).
func newNetns(t *testing.T) *netns {
	t.Helper()
	n, why := openNetns(t)
	if n == nil {
		t.Skip(why)
	}
	return n
}

// openNetns is newNetns for a test that can cut a node off another way
// (SIGSTOP) where the machine does not allow network namespaces: nil and
// the reason then.
func openNetns(t *testing.T) (*netns, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, "network partitions need network namespaces: not root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, "network partitions need ip(8) (iproute2): not installed"
	}
	pid := os.Getpid() % 100000
	n := &netns{name: fmt.Sprintf("mvg%d", pid), hostIf: fmt.Sprintf("mvgh%d", pid), nsIf: fmt.Sprintf("mvgn%d", pid)}
	// A /30 of 10.213.0.0/16 per test process.
	a, b := (pid*4)/256%256, (pid*4)%256
	n.hostIP, n.nsIP = fmt.Sprintf("10.213.%d.%d", a, b+1), fmt.Sprintf("10.213.%d.%d", a, b+2)
	if err := ipCmd("netns", "add", n.name); err != nil {
		return nil, fmt.Sprintf("network partitions need network namespaces, which this machine refuses: %v", err)
	}
	t.Cleanup(func() {
		ipCmd("link", "del", n.hostIf) // takes its peer along
		ipCmd("netns", "del", n.name)
	})
	for _, args := range [][]string{
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf},
		{"link", "set", n.nsIf, "netns", n.name},
		{"addr", "add", n.hostIP + "/30", "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"netns", "exec", n.name, "ip", "addr", "add", n.nsIP + "/30", "dev", n.nsIf},
		{"netns", "exec", n.name, "ip", "link", "set", n.nsIf, "up"},
		{"netns", "exec", n.name, "ip", "link", "set", "lo", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			t.Fatalf("set up network namespace: %v", err)
		}
	}
	return n, ""
}

// cut takes the namespace's end of the link down: nothing passes either
// way, and open TCP connections hang (no reset), as in a real partition.
// The host's end stays up, so its address keeps serving the host's roles.
func (n *netns) cut(t *testing.T) {
	t.Helper()
	if err := ipCmd("netns", "exec", n.name, "ip", "link", "set", n.nsIf, "down"); err != nil {
		t.Fatal(err)
	}
}

// restore brings the link back.
func (n *netns) restore(t *testing.T) {
	t.Helper()
	if err := ipCmd("netns", "exec", n.name, "ip", "link", "set", n.nsIf, "up"); err != nil {
		t.Fatal(err)
	}
}

// forward relays TCP connections from host:0 to target (a storage server
// on the host's loopback, which a namespace cannot reach) and returns the
// address it listens on.
func forward(t *testing.T, host, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return l.Addr().String()
}

// addInNetns starts a role inside n: it binds and advertises n.nsIP and
// reaches etcd, NATS and S3 through relays on the host's end of the link.
// It gets the environment the cluster's options give its name (failpoints).
func addInNetns(c *cluster, t *testing.T, n *netns, spec string) *role {
	t.Helper()
	name, kind, _ := strings.Cut(spec, ":")
	var etcd, nats []string
	for _, e := range c.Etcd {
		etcd = append(etcd, "http://"+forward(t, n.hostIP, strings.TrimPrefix(e, "http://")))
	}
	for _, u := range strings.Split(c.NATS, ",") {
		nats = append(nats, "nats://"+forward(t, n.hostIP, strings.TrimPrefix(strings.TrimSpace(u), "nats://")))
	}
	s3 := forward(t, n.hostIP, c.S3.Endpoint)
	r := &role{Name: name, Bin: c.Bin, Dir: c.Dir, MetricsPort: testservers.FreePort(t), Host: n.nsIP,
		Wrap: []string{"ip", "netns", "exec", n.name}, Env: c.Env[name]}
	r.Args = []string{"run", kind, "--config", c.Config,
		"--" + clusterproc.PortFlag[kind] + "=0",
		"--" + clusterproc.IPFlag[kind] + "=" + n.nsIP,
		"--common.MetricsPort=" + fmt.Sprint(r.MetricsPort),
		"--etcd.endpoints=" + strings.Join(etcd, ","),
		"--milvago.natsmq.url=" + strings.Join(nats, ","),
		"--minio.address=" + s3,
		c.LocalStorageArg(t, name)}
	r.Start(t)
	c.Roles[name] = r
	c.Order = append(c.Order, name)
	return r
}

// TestClusterNetworkPartition runs a query node and a data node inside a
// network namespace and cuts its link for more than twice the session TTL,
// under reads of a two-replica collection and a load of inserts and
// deletes:
//   - the cut-off data node's pchannels move to the data node outside,
//     which replays them from their checkpoints; the cut-off query node's
//     replica loses its node and reads go to the other replica;
//   - the cut-off nodes find their sessions expired and stop, before the
//     link comes back or right after, without serving or reporting
//     anything (the data coordinator would refuse their reports anyway);
//   - started again in the namespace, they rejoin: the data node takes
//     pchannels back, the query node serves its replica;
//   - every acknowledged write is there, counted exactly, after a flush,
//     and no segment was flushed twice.
//
// It complements TestClusterPausedNodes (SIGSTOP: the process is frozen
// but its sockets stay up): here the process runs on, unable to reach
// anyone, and its peers see its connections hang.
func TestClusterNetworkPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	ns := newNetns(t)
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 1, ip: ns.hostIP},
		"mixcoord", "streamingnode", "datanode-1:datanode", "querynode-1:querynode", "indexnode", "proxy")
	addInNetns(c, t, ns, "datanode-2:datanode").WaitReady(t, 90*time.Second)
	addInNetns(c, t, ns, "querynode-2:querynode").WaitReady(t, 90*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	dn1, dn2 := serverID(c.Roles["datanode-1"], t), serverID(c.Roles["datanode-2"], t)
	qn2 := serverID(c.Roles["querynode-2"], t)
	const name, base = "parted", 2000

	// Four shards (two pchannels on each data node), two replicas (one
	// query node each).
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	eventually(t, 30*time.Second, "pchannels on both data nodes", func() error {
		if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(4)); err != nil {
			return err
		}
		per := map[int64]int{}
		for _, n := range channelOwners(t, ctx, store) {
			per[n]++
		}
		if per[dn1] == 2 && per[dn2] == 2 {
			return nil
		}
		if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("owners per node %v", per)
	})
	if _, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2))); err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, 0, base)
	for i := 0; i < base; i += 500 {
		if err := insertRange(ctx, cli, name, i, 500); err != nil {
			t.Fatal(err)
		}
	}
	flushAwait(t, ctx, cli, name)
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name).WithReplica(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, ctx, cli, name, "id >= 0"); got != base {
		t.Fatalf("rows before the partition: %d, want %d", got, base)
	}
	for i := 0; i < base; i += 500 {
		vecs = append(vecs, vectors(rand.New(rand.NewPCG(uint64(i), 2)), 500)...) // insertRange's
	}

	w := startWrites(ctx, name, cli)
	reads := startReads(ctx, cli, name, vecs[:200])
	time.Sleep(2 * time.Second)
	cutAt := time.Now()
	ns.cut(t)
	eventually(t, 60*time.Second, "the cut-off data node's pchannels to move", func() error {
		for pc, n := range channelOwners(t, ctx, store) {
			if n != dn1 {
				return fmt.Errorf("%s still on %d", pc, n)
			}
		}
		return nil
	})
	moved := time.Since(cutAt)
	eventually(t, 60*time.Second, "the cut-off query node to leave its replica", func() error {
		for _, r := range describeReplicas(t, ctx, cli, name) {
			for _, n := range r.Nodes {
				if n == qn2 {
					return fmt.Errorf("replica %d still has query node %d", r.ReplicaID, n)
				}
			}
		}
		return nil
	})
	left := time.Since(cutAt)
	// Keep the link down for more than twice the TTL (5 s).
	time.Sleep(max(0, 12*time.Second-time.Since(cutAt)))
	ns.restore(t)
	restored := time.Since(cutAt)
	for _, r := range []string{"datanode-2", "querynode-2"} {
		exitsAfterPause(c.Roles[r], t, 30*time.Second)
	}
	time.Sleep(2 * time.Second)
	reads.halt()
	t.Logf("link cut for %v: pchannels moved after %v, query node out of its replica after %v; reads: %v; writes: %v",
		restored.Round(time.Millisecond), moved.Round(time.Millisecond), left.Round(time.Millisecond), reads, w)
	if w.failures() > 0 {
		t.Fatalf("writes failed during the partition: %v", w)
	}
	if reads.failed.Load() > 0 {
		t.Fatalf("reads of a two-replica collection failed during the partition: %v", reads)
	}

	// The nodes come back (their supervisor restarts them, under new
	// server IDs) and rejoin.
	addInNetns(c, t, ns, "datanode-2:datanode").WaitReady(t, 90*time.Second)
	addInNetns(c, t, ns, "querynode-2:querynode").WaitReady(t, 90*time.Second)
	dn2b, qn2b := serverID(c.Roles["datanode-2"], t), serverID(c.Roles["querynode-2"], t)
	eventually(t, 90*time.Second, "the restarted data node to take pchannels back", func() error {
		per := map[int64]int{}
		for _, n := range channelOwners(t, ctx, store) {
			per[n]++
		}
		if per[dn1] != 2 || per[dn2b] != 2 {
			return fmt.Errorf("owners per node %v", per)
		}
		return nil
	})
	eventually(t, 90*time.Second, "the restarted query node to serve a replica", func() error {
		for _, r := range describeReplicas(t, ctx, cli, name) {
			for _, sh := range r.Shards {
				if sh.ShardLeader == qn2b {
					return nil
				}
			}
		}
		return errors.New("no shard on the restarted query node")
	})
	w.halt()
	flushAwait(t, ctx, cli, name)
	w.mu.Lock()
	live, written := int64(base+len(w.live)), int64(base+w.insOK*writeBatch)
	deleted := append([]int64(nil), w.deleted...)
	w.mu.Unlock()
	if got := count(t, ctx, cli, name, "id >= 0"); got != live {
		t.Fatalf("rows after the partition and a flush: %d, want %d", got, live)
	}
	if len(deleted) > 0 {
		if got := count(t, ctx, cli, name, idsFilter(deleted)); got != 0 {
			t.Fatalf("%d of %d acknowledged deletes undone", got, len(deleted))
		}
	}
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, s := range segs {
		rows += s.NumRows
	}
	if rows > written || rows < live {
		t.Fatalf("flushed segments hold %d rows, want at most the %d written (none twice) and at least the %d live", rows, written, live)
	}
}
