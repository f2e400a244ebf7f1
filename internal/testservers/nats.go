package testservers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSCluster is a NATS JetStream cluster of real nats-server processes.
type NATSCluster struct {
	// Nodes in the order of their names, nats-0, nats-1, ...
	Nodes []*NATSNode
}

// NATSNode is one server of a NATSCluster.
type NATSNode struct {
	*Process
	// URL is the node's client URL, "nats://127.0.0.1:PORT".
	URL string
	// MonitorURL is its HTTP monitoring endpoint ("/healthz", "/jsz").
	MonitorURL string
}

// StartNATS starts an n-node NATS cluster with JetStream (file store under
// each node's directory; n = 1 is a single server without clustering), the
// binary from MILVAGO_NATS_BIN or "nats-server" on PATH, and returns once
// every node reports itself healthy, which in a cluster includes a
// JetStream meta leader. Streams on it may use Replicas up to n. max_payload
// is NATS's default, 1 MiB.
func StartNATS(t testing.TB, n int) *NATSCluster {
	t.Helper()
	return StartNATSMaxPayload(t, n, 0)
}

// StartNATSMaxPayload is StartNATS with the servers' max_payload set to
// maxPayload bytes (0: NATS's default, 1 MiB), as Milvago's embedded
// server's 8 MiB.
func StartNATSMaxPayload(t testing.TB, n, maxPayload int) *NATSCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("nats cluster of %d nodes", n)
	}
	bin := Binary(t, "MILVAGO_NATS_BIN", "nats-server")
	root := t.TempDir()
	type ports struct{ client, monitor, cluster int }
	ps := make([]ports, n)
	for i := range ps {
		ps[i] = ports{FreePort(t), FreePort(t), FreePort(t)}
	}
	c := &NATSCluster{}
	procs := make([]*Process, n)
	for i, p := range ps {
		name := fmt.Sprintf("nats-%d", i)
		dir := filepath.Join(root, name)
		mkdir(t, dir)
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n"+
			"jetstream {\n  store_dir: %q\n  max_memory_store: 64MB\n  max_file_store: 4GB\n}\n",
			name, p.client, p.monitor, filepath.Join(dir, "jetstream"))
		if maxPayload > 0 {
			conf += fmt.Sprintf("max_payload: %d\n", maxPayload)
		}
		if n > 1 {
			var routes []string
			for j, q := range ps {
				if j != i {
					routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", q.cluster))
				}
			}
			conf += fmt.Sprintf("cluster {\n  name: milvago-test\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
				p.cluster, strings.Join(routes, ", "))
		}
		confPath := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		node := &NATSNode{
			URL:        fmt.Sprintf("nats://127.0.0.1:%d", p.client),
			MonitorURL: fmt.Sprintf("http://127.0.0.1:%d", p.monitor),
		}
		health := node.MonitorURL + "/healthz"
		node.Process = newProcess(t, name, dir, bin, []string{"-c", confPath}, func(ctx context.Context) error {
			// 200 once the server accepts clients and JetStream is
			// current: the meta leader is known and its streams caught up.
			return httpCheck(ctx, health, 200, "ok")
		})
		c.Nodes = append(c.Nodes, node)
		procs[i] = node.Process
	}
	start := time.Now()
	startAll(t, procs)
	if n > 1 {
		c.settle(t)
	}
	t.Logf("nats cluster of %d ready in %v: %s", n, time.Since(start).Round(time.Millisecond), c.URL())
	return c
}

// URLs returns every node's client URL.
func (c *NATSCluster) URLs() []string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.URL)
	}
	return urls
}

// URL returns every node's client URL joined by commas, the form
// logbroker.NATSConfig.URL and nats.Connect take.
func (c *NATSCluster) URL() string { return strings.Join(c.URLs(), ",") }

// settle waits until JetStream requests work through every node: healthz
// passes as soon as a meta leader is known, but for a second or so after
// that the servers still open and de-duplicate their route connections,
// and a reply crossing a route closed in that churn is lost (the request
// times out although it was carried out). So, until one pass succeeds
// entirely, through each node in turn: create a stream with one replica
// per node, publish to it, read its info; then delete it.
func (c *NATSCluster) settle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	const stream = "TESTSERVERS_PROBE"
	probe := func(url string) error {
		nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		op, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		s, err := js.CreateOrUpdateStream(op, jetstream.StreamConfig{
			Name: stream, Subjects: []string{"testservers.probe"}, Replicas: len(c.Nodes),
			Storage: jetstream.MemoryStorage,
		})
		if err != nil {
			return fmt.Errorf("create probe stream: %w", err)
		}
		if _, err := js.Publish(op, "testservers.probe", []byte("x")); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if _, err := s.Info(op); err != nil {
			return fmt.Errorf("stream info: %w", err)
		}
		return nil
	}
	var last error
	for ctx.Err() == nil {
		last = nil
		for _, n := range c.Nodes {
			if err := probe(n.URL); err != nil {
				last = fmt.Errorf("%s: %w", n.Name, err)
				break
			}
		}
		if last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("nats cluster: JetStream not working after %v: %v", startTimeout, errors.Join(last, ctx.Err()))
	}
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, stream); err != nil {
		t.Fatalf("nats cluster: delete probe stream: %v", err)
	}
}
