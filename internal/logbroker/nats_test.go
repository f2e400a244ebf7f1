package logbroker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
)

// startServer runs a NATS server with JetStream on a loopback port, as an
// external broker would be, and returns its URL.
func startServer(t *testing.T, maxPayload int32) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoSigs:     true,
		NoLog:      true,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		MaxPayload: maxPayload,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv.ClientURL()
}

// TestExternalConformance runs the suite through NewNATS and TCP against a
// server with the default 1 MiB max_payload, several logs sharing it under
// different stream prefixes.
func TestExternalConformance(t *testing.T) {
	url := startServer(t, 0)
	n := 0
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		n++
		l, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{
			URL:          url,
			StreamPrefix: "T" + string(rune('A'+n)),
		}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		if got, want := l.MaxMessageBytes(), 1<<20-4<<10; got != want {
			t.Fatalf("MaxMessageBytes %d with a 1 MiB max_payload, want %d", got, want)
		}
		return l
	})
}

// TestExternalURLConformance runs the suite against the server at
// $MILVAGO_TEST_NATS_URL (a real nats-server, e.g. Debian's 2.9), when set:
//
//	nats-server -js -a 127.0.0.1 -p 14222 -sd /tmp/nats &
//	MILVAGO_TEST_NATS_URL=nats://127.0.0.1:14222 go test -run URL ./internal/logbroker/
func TestExternalURLConformance(t *testing.T) {
	url := os.Getenv("MILVAGO_TEST_NATS_URL")
	if url == "" {
		t.Skip("MILVAGO_TEST_NATS_URL not set")
	}
	run := time.Now().UnixNano()
	n := 0
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		n++
		prefix := fmt.Sprintf("TEST%d_%d", run, n)
		l, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{URL: url, StreamPrefix: prefix}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// Leave the server as we found it.
			nc, err := nats.Connect(url)
			if err == nil {
				if js, err := jetstream.New(nc); err == nil {
					js.DeleteStream(context.Background(), prefix+"_LOG")
				}
				nc.Close()
			}
			l.Close()
		})
		return l
	})
}

func TestNATSConfig(t *testing.T) {
	f := func(cfg logbroker.NATSConfig, ok bool) {
		t.Helper()
		if err := cfg.Validate(); (err == nil) != ok {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
	f(logbroker.NATSConfig{}, true)
	f(logbroker.NATSConfig{StreamPrefix: "milvago-test_1", Replicas: 3}, true)
	f(logbroker.NATSConfig{StreamPrefix: "a.b"}, false)
	f(logbroker.NATSConfig{StreamPrefix: "a b"}, false)
	f(logbroker.NATSConfig{Replicas: 2}, false)

	g := func(cfg logbroker.EmbedConfig, ok bool) {
		t.Helper()
		if err := cfg.Validate(); (err == nil) != ok {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
	g(logbroker.EmbedConfig{Dir: "x"}, true)
	g(logbroker.EmbedConfig{}, false)
	g(logbroker.EmbedConfig{Dir: "x", MaxPayload: 65 << 20}, false)
	g(logbroker.EmbedConfig{Dir: "x", SyncInterval: -time.Second}, false)
}

// TestExternalSharedStream checks that two NATS values on one stream (two
// processes, in cluster mode) see each other's appends and truncations.
func TestExternalSharedStream(t *testing.T) {
	url := startServer(t, 0)
	open := func() *logbroker.NATS {
		l, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{URL: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a, b := open(), open()
	ctx := t.Context()
	var ids []logbroker.MessageID
	for range 5 {
		id, err := a.Append(ctx, "ch", []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if latest, err := b.Latest(ctx, "ch"); err != nil || latest != ids[4] {
		t.Fatalf("latest seen by b: %d, %v; want %d", latest, err, ids[4])
	}
	if err := a.Truncate(ctx, "ch", ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(ctx, "ch", ids[1]); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("b reads below a's truncation: %v", err)
	}
	r, err := b.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil || m.ID != ids[3] {
		t.Fatalf("b reads from the oldest retained: %d, %v; want %d", m.ID, err, ids[3])
	}
}

func TestNewNATSUnreachable(t *testing.T) {
	_, err := logbroker.NewNATS(t.Context(), logbroker.NATSConfig{URL: "nats://127.0.0.1:1"}, nil)
	if err == nil {
		t.Fatal("connected to nothing")
	}
}

// TestConcurrentTruncate truncates one channel from two processes' worth
// of NATS values at once: the truncation point must end at the highest
// upTo, never move backwards.
func TestConcurrentTruncate(t *testing.T) {
	url := startServer(t, 0)
	ctx := t.Context()
	var logs []*logbroker.NATS
	for range 2 {
		l, err := logbroker.NewNATS(ctx, logbroker.NATSConfig{URL: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		logs = append(logs, l)
	}
	var ids []logbroker.MessageID
	for range 40 {
		id, err := logs[0].Append(ctx, "ch", []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = logs[i%2].Truncate(ctx, "ch", id)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	top := ids[len(ids)-1]
	for _, l := range logs {
		if _, err := l.Read(ctx, "ch", top-1); !errors.Is(err, logbroker.ErrTruncated) {
			t.Fatalf("read below the highest truncation: %v, want ErrTruncated", err)
		}
		r, err := l.Read(ctx, "ch", top)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
}

// TestExternalTruncateUnderReader truncates a channel through one NATS
// value past what a reader opened through another one has not fetched
// yet (as a retention service truncates under a lagging query node's
// reader): the reader must fail with ErrTruncated, not skip to the first
// message the purge left.
func TestExternalTruncateUnderReader(t *testing.T) {
	// A small max_payload keeps the reader's prefetch (two max_payloads)
	// to a message or two: the rest stay on the server until it asks.
	url := startServer(t, 8<<10)
	ctx := t.Context()
	open := func() *logbroker.NATS {
		l, err := logbroker.NewNATS(ctx, logbroker.NATSConfig{URL: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	writer, reader := open(), open()
	payload := make([]byte, 3<<10)
	var ids []logbroker.MessageID
	for range 20 {
		id, err := writer.Append(ctx, "ch", payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r, err := reader.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil || m.ID != ids[0] {
		t.Fatalf("first message: %d, %v; want %d", m.ID, err, ids[0])
	}
	if err := writer.Truncate(ctx, "ch", ids[15]); err != nil {
		t.Fatal(err)
	}
	last := m.ID
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, logbroker.ErrTruncated) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// A message prefetched before the purge may still come; one past
		// a purged message must not.
		k := slices.Index(ids, m.ID)
		if k < 0 || ids[k-1] != last {
			t.Fatalf("read %d after %d: the messages between were skipped silently (want ErrTruncated)", m.ID, last)
		}
		if m.ID == ids[len(ids)-1] {
			t.Fatalf("read every message through a truncation up to %d", ids[15])
		}
		last = m.ID
	}
}
