package logbroker

import (
	"context"
	"testing"
	"time"
)

// TestReaderHeartbeatCoversBigMessages: two heartbeats cover moving one
// maximal message at readerSlowRate, so a reader is not reset while a big
// message is on its way; NATS's default max_payload keeps the 1 s that a
// cluster's lost first pull needs.
func TestReaderHeartbeatCoversBigMessages(t *testing.T) {
	for _, tc := range []struct {
		maxPayload int
		want       time.Duration
	}{
		{1 << 20, readerHeartbeat}, // NATS's default
		{8 << 20, 4 * time.Second}, // the embedded server's
		{64 << 20, readerMaxHeartbeat},
	} {
		if got := readerHeartbeatFor(tc.maxPayload); got != tc.want {
			t.Errorf("max_payload %d: heartbeat %v, want %v", tc.maxPayload, got, tc.want)
		}
		if got := readerHeartbeatFor(tc.maxPayload); 2*got < min(time.Duration(float64(tc.maxPayload)/readerSlowRate*float64(time.Second)), 2*readerMaxHeartbeat) {
			t.Errorf("max_payload %d: two heartbeats (%v) do not cover one message at %d B/s", tc.maxPayload, 2*got, readerSlowRate)
		}
	}
}

// TestEmbeddedReaderBesideBigMessages: on the embedded server, an idle
// reader next to one reading 8 MiB messages keeps its consumer (the
// throttled TCP case is TestNATSReaderBesideBigMessages), and each reader
// has a connection of its own, closed with it. The readers read the
// stream (NoTail): a reader taking the tail has no consumer while idle.
func TestEmbeddedReaderBesideBigMessages(t *testing.T) {
	e, err := StartEmbedded(t.Context(), EmbedConfig{Dir: t.TempDir(), NoTail: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	big := make([]byte, l.MaxMessageBytes())
	const n = 4
	for i := range n {
		big[0] = byte(i)
		if _, err := l.Append(ctx, "big", big, nil); err != nil {
			t.Fatal(err)
		}
	}
	qr, err := l.Read(ctx, "quiet", 0)
	if err != nil {
		t.Fatal(err)
	}
	quiet := qr.(*natsReader)
	defer quiet.Close()
	got := make(chan error, 1)
	go func() {
		_, err := quiet.Next(ctx)
		got <- err
	}()
	quiet.itMu.Lock()
	before := quiet.cons.CachedInfo().Name
	quiet.itMu.Unlock()
	br, err := l.Read(ctx, "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	reader := br.(*natsReader)
	if reader.nc == quiet.nc || reader.nc == l.nc {
		t.Fatal("readers share a connection")
	}
	for i := range n {
		m, err := reader.Next(ctx)
		if err != nil {
			t.Fatalf("big message %d: %v", i, err)
		}
		if len(m.Payload) != len(big) || m.Payload[0] != byte(i) {
			t.Fatalf("big message %d: %d bytes, first %d", i, len(m.Payload), m.Payload[0])
		}
	}
	reader.Close()
	if !reader.nc.IsClosed() {
		t.Error("a closed reader's connection is open")
	}
	if _, err := l.Append(ctx, "quiet", []byte("after"), nil); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	quiet.itMu.Lock()
	after := quiet.cons.CachedInfo().Name
	quiet.itMu.Unlock()
	if after != before {
		t.Fatalf("quiet reader's consumer %s became %s: it was reset", before, after)
	}
}
