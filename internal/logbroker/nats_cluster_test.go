package logbroker_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
	"github.com/milvago/milvago/internal/testservers"
)

// TestNATSClusterConformance runs the suite against a real 3-node
// nats-server cluster, every log a stream with 3 replicas, the client
// given all three URLs as cluster mode does.
func TestNATSClusterConformance(t *testing.T) {
	c := testservers.StartNATS(t, 3)
	n := 0
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		n++
		l, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{
			URL:          c.URL(),
			StreamPrefix: fmt.Sprintf("R3_%d", n),
			Replicas:     3,
		}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}

// natsWriter appends to one channel until stopped, remembering the
// acknowledged appends. Every attempt has its own payload, so that a
// message stored without an acknowledgement (a publish whose ack was lost
// in the failover) is recognised as such.
type natsWriter struct {
	l        logbroker.Log
	p        logbroker.Producer // appends through it when set (fenced)
	mu       sync.Mutex
	acked    map[logbroker.MessageID]string
	failed   map[string]bool // payloads of failed appends
	inflight string          // payload of the append under way
	lastErr  error
}

func (w *natsWriter) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		p := fmt.Sprintf("m%06d", i)
		w.mu.Lock()
		w.inflight = p
		w.mu.Unlock()
		var (
			id  logbroker.MessageID
			err error
		)
		if w.p != nil {
			// A fenced append retries unanswered attempts itself (5 s
			// each) until its context ends.
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			id, err = w.p.Append(actx, []byte(p), map[string]string{"i": p})
			cancel()
			w.record(ctx, p, id, err)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		id, err = w.l.Append(actx, "ch", []byte(p), map[string]string{"i": p})
		cancel()
		w.record(ctx, p, id, err)
	}
}

func (w *natsWriter) record(ctx context.Context, p string, id logbroker.MessageID, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.acked[id] = p
	} else if ctx.Err() == nil {
		w.failed[p] = true
		w.lastErr = err
	}
}

func (w *natsWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *natsWriter) waitAcked(t *testing.T, n int, what string) {
	t.Helper()
	want := w.count() + n
	deadline := time.Now().Add(60 * time.Second)
	for w.count() < want {
		if time.Now().After(deadline) {
			w.mu.Lock()
			defer w.mu.Unlock()
			t.Fatalf("%s: %d appends acknowledged in 60 s, want %d (last error: %v)", what, len(w.acked), want, w.lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAll reads the channel from the start and checks that every
// acknowledged append is there with its ID and payload, in order, and that
// anything else is a failed append.
func (w *natsWriter) checkAll(t *testing.T, l logbroker.Log, what string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	last, err := l.Latest(ctx, "ch")
	if err != nil {
		t.Fatalf("%s: latest: %v", what, err)
	}
	r, err := l.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatalf("%s: read: %v", what, err)
	}
	defer r.Close()
	seen := 0
	payloads := map[string]logbroker.MessageID{}
	var prev logbroker.MessageID
	for prev < last {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("%s: next after %d (latest %d): %v", what, prev, last, err)
		}
		if m.ID <= prev {
			t.Fatalf("%s: id %d after %d", what, m.ID, prev)
		}
		prev = m.ID
		if first, ok := payloads[string(m.Payload)]; ok {
			t.Fatalf("%s: %q stored twice, at %d and %d", what, m.Payload, first, m.ID)
		}
		payloads[string(m.Payload)] = m.ID
		if want, ok := w.acked[m.ID]; ok {
			if string(m.Payload) != want || m.Properties["i"] != want {
				t.Fatalf("%s: id %d holds %q %v, acknowledged as %q", what, m.ID, m.Payload, m.Properties, want)
			}
			seen++
		} else if !w.failed[string(m.Payload)] && string(m.Payload) != w.inflight {
			t.Fatalf("%s: id %d holds %q, neither acknowledged nor a failed or current append", what, m.ID, m.Payload)
		}
	}
	if seen != len(w.acked) {
		t.Fatalf("%s: read %d of %d acknowledged appends", what, seen, len(w.acked))
	}
}

// streamLeader returns the index of the node leading the log's stream.
func streamLeader(t *testing.T, c *testservers.NATSCluster, stream string) int {
	t.Helper()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info := s.CachedInfo()
	if info.Cluster == nil {
		t.Fatalf("stream %s has no cluster info", stream)
	}
	for i, n := range c.Nodes {
		if n.Name == info.Cluster.Leader {
			return i
		}
	}
	t.Fatalf("stream leader %q is not a node", info.Cluster.Leader)
	return -1
}

// TestNATSClusterKillNode kills the leader of the log's stream (3
// replicas) with SIGKILL while a client appends: the other two elect a
// leader and keep acknowledging appends, every acknowledged append stays
// readable with its ID, the killed node restarts and catches up, and then
// the log survives losing another node, which needs the rejoined one.
func TestNATSClusterKillNode(t *testing.T) {
	c := testservers.StartNATS(t, 3)
	l, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{URL: c.URL(), Replicas: 3}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	w := &natsWriter{l: l, acked: make(map[logbroker.MessageID]string), failed: make(map[string]bool)}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(ctx)
	}()
	stopWriter := func() {
		stop()
		wg.Wait()
	}
	defer stopWriter()

	w.waitAcked(t, 100, "before the kill")
	victim := streamLeader(t, c, logbroker.DefaultStreamPrefix+"_LOG")
	t.Logf("killing the stream leader, %s, after %d appends", c.Nodes[victim].Name, w.count())
	c.Nodes[victim].Kill(t)
	w.waitAcked(t, 200, "with 2 of 3 nodes")
	w.checkAll(t, l, "with 2 of 3 nodes")

	c.Nodes[victim].Restart(t) // ready: healthz says its streams are current
	w.waitAcked(t, 100, "after the restart")
	stopWriter()
	t.Logf("%d appends acknowledged, %d failed (last error: %v)", len(w.acked), len(w.failed), w.lastErr)

	other := (victim + 1) % 3
	c.Nodes[other].Kill(t)
	t.Logf("killed %s; %s rejoined", c.Nodes[other].Name, c.Nodes[victim].Name)
	w.checkAll(t, l, "after the second kill")
	// And it still takes appends, from the rejoined node and one other.
	actx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		id, err := l.Append(actx, "ch", []byte("after"), nil)
		if err == nil {
			r, err := l.Read(actx, "ch", id-1)
			if err != nil {
				t.Fatal(err)
			}
			m, err := r.Next(actx)
			r.Close()
			if err != nil || m.ID != id || !bytes.Equal(m.Payload, []byte("after")) {
				t.Fatalf("read back %d: %v %d %q", id, err, m.ID, m.Payload)
			}
			break
		}
		if actx.Err() != nil {
			t.Fatalf("append with the rejoined node and one other: %v", err)
		}
	}
}

// TestNATSClusterFencedKillNode appends through a fenced producer while
// the stream leader is killed: publishes whose acknowledgement is lost in
// the failover are retried with the same expected sequence, so none is
// stored twice, and each is reported with the ID it was stored at.
func TestNATSClusterFencedKillNode(t *testing.T) {
	c := testservers.StartNATS(t, 3)
	l, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{URL: c.URL(), Replicas: 3}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := l.Producer(t.Context(), "ch", 1)
	if err != nil {
		t.Fatal(err)
	}
	w := &natsWriter{l: l, p: p, acked: make(map[logbroker.MessageID]string), failed: make(map[string]bool)}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(ctx)
	}()
	defer func() { stop(); wg.Wait() }()
	w.waitAcked(t, 100, "before the kill")
	victim := streamLeader(t, c, logbroker.DefaultStreamPrefix+"_LOG")
	c.Nodes[victim].Kill(t)
	w.waitAcked(t, 200, "with 2 of 3 nodes")
	stop()
	wg.Wait()
	w.checkAll(t, l, "after the leader's kill")
	t.Logf("%d fenced appends acknowledged, %d failed (last error: %v)", len(w.acked), len(w.failed), w.lastErr)
	if len(w.failed) > 0 {
		t.Fatalf("%d fenced appends failed across the failover (last: %v)", len(w.failed), w.lastErr)
	}
}
