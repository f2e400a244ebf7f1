package logbroker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/testservers"
)

// truncPayload is the size of the messages of the truncation tests: with
// an 8 KiB max_payload the reader's prefetch (two max_payloads) holds a
// few of them, and the rest wait on the server until it asks.
const truncPayload = 3 << 10

// truncLogs opens three NATS values on one server, as three processes
// have: the channel's writer, a truncator (a retention service) and a
// reader (a lagging query node). The reader's value never sees the
// truncator's marks in its own cache.
type truncLogs struct {
	writer, truncator, reader *logbroker.NATS
}

// truncServers are the servers the truncation tests run on, each with an
// 8 KiB max_payload: an external server reached over TCP, the embedded
// server (the other values over its in-process pipe) and, with CI's
// binaries, a real 3-node nats-server cluster, stream replicated 3 times.
var truncServers = []struct {
	name string
	open func(t *testing.T) truncLogs
}{
	{"External", func(t *testing.T) truncLogs {
		return openTruncLogs(t, logbroker.NATSConfig{URL: startServer(t, 8<<10)})
	}},
	{"Embedded", func(t *testing.T) truncLogs {
		e := startEmbedded(t, logbroker.EmbedConfig{MaxPayload: 8 << 10})
		ls := openTruncLogs(t, logbroker.NATSConfig{URL: "nats://in-process", Options: []nats.Option{nats.InProcessServer(e.Server())}})
		ls.writer = e.Log()
		return ls
	}},
	{"Cluster", func(t *testing.T) truncLogs {
		c := testservers.StartNATSMaxPayload(t, 3, 8<<10)
		return openTruncLogs(t, logbroker.NATSConfig{URL: c.URL(), Replicas: 3})
	}},
}

func openTruncLogs(t *testing.T, cfg logbroker.NATSConfig) truncLogs {
	t.Helper()
	open := func() *logbroker.NATS {
		l, err := logbroker.NewNATS(t.Context(), cfg, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	return truncLogs{writer: open(), truncator: open(), reader: open()}
}

// truncWriter appends to channel ch through a fenced producer or plain
// Append, each message after one on "other", so that the channel's IDs
// always have gaps (other channels share the stream's sequence). It
// remembers the channel's IDs in order.
type truncWriter struct {
	l   *logbroker.NATS
	ch  string
	p   logbroker.Producer // nil: plain Append
	ids []logbroker.MessageID
}

func newTruncWriter(t *testing.T, l *logbroker.NATS, ch string, fenced bool) *truncWriter {
	t.Helper()
	w := &truncWriter{l: l, ch: ch}
	if fenced {
		p, err := l.Producer(t.Context(), ch, 1)
		if err != nil {
			t.Fatal(err)
		}
		w.p = p
	}
	return w
}

func (w *truncWriter) append(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	payload := make([]byte, truncPayload)
	for range n {
		if _, err := w.l.Append(ctx, "other", payload, nil); err != nil {
			t.Fatal(err)
		}
		var id logbroker.MessageID
		var err error
		if w.p != nil {
			id, err = w.p.Append(ctx, payload, nil)
		} else {
			id, err = w.l.Append(ctx, w.ch, payload, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.ids = append(w.ids, id)
	}
}

// TestNATSTruncateUnderReaderWhileAppending: another process truncates a
// channel past what a reader has fetched while its writer goes on
// appending, as many messages as the purge removed (so that the
// consumer's pending count does not fall: the reader used to rely on
// that fall, or on a once-a-second read of the mark, and skipped the
// purged messages silently). The reader must fail with ErrTruncated, and
// every message it returns before must follow the one before it in the
// channel. Appends through a fenced producer (the data path: each message
// names the one before it) and plain ones (the mark is read at each gap).
func TestNATSTruncateUnderReaderWhileAppending(t *testing.T) {
	for _, srv := range truncServers {
		t.Run(srv.name, func(t *testing.T) {
			ls := srv.open(t)
			for _, fenced := range []bool{true, false} {
				name := "Plain"
				if fenced {
					name = "Fenced"
				}
				t.Run(name, func(t *testing.T) {
					truncateUnderReader(t, ls, newTruncWriter(t, ls.writer, "under"+name, fenced))
				})
			}
		})
	}
}

func truncateUnderReader(t *testing.T, ls truncLogs, w *truncWriter) {
	ctx := t.Context()
	w.append(t, ctx, 20)
	r, err := ls.reader.Read(ctx, w.ch, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil || m.ID != w.ids[0] {
		t.Fatalf("first message: %d, %v; want %d", m.ID, err, w.ids[0])
	}
	upTo := w.ids[15]
	if err := ls.truncator.Truncate(ctx, w.ch, upTo); err != nil {
		t.Fatal(err)
	}
	w.append(t, ctx, 15)
	last := m.ID
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, logbroker.ErrTruncated) {
			if last >= upTo {
				t.Fatalf("ErrTruncated after %d, past the truncation point %d", last, upTo)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// A message prefetched before the purge may still come; one past
		// a purged message must not.
		k := slices.Index(w.ids, m.ID)
		if k < 1 || w.ids[k-1] != last {
			t.Fatalf("read %d after %d: the messages between were skipped silently (want ErrTruncated)", m.ID, last)
		}
		if m.ID >= upTo {
			t.Fatalf("read %d, past the truncation point %d, without ErrTruncated", m.ID, upTo)
		}
		last = m.ID
	}
}

// TestNATSTruncateBehindReader: truncations by another process up to a
// reader's position, or below it, while the writer appends, are no
// truncation of the reader: it returns every message, in order, and no
// ErrTruncated (a skip check that reported every gap or every purge would
// make lagging query nodes reload for nothing).
func TestNATSTruncateBehindReader(t *testing.T) {
	for _, srv := range truncServers[:2] {
		t.Run(srv.name, func(t *testing.T) {
			ls := srv.open(t)
			ctx := t.Context()
			for _, fenced := range []bool{true, false} {
				w := newTruncWriter(t, ls.writer, fmt.Sprintf("behind%v", fenced), fenced)
				w.append(t, ctx, 10)
				r, err := ls.reader.Read(ctx, w.ch, 0)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 30 {
					if i%5 == 4 {
						// Up to the reader's position, then below it.
						if err := ls.truncator.Truncate(ctx, w.ch, w.ids[i-1-i%2]); err != nil {
							t.Fatal(err)
						}
						w.append(t, ctx, 5)
					}
					m, err := r.Next(ctx)
					if err != nil || m.ID != w.ids[i] {
						t.Fatalf("fenced %v: message %d: %d, %v; want %d", fenced, i, m.ID, err, w.ids[i])
					}
				}
				r.Close()
			}
		})
	}
}
