package logbroker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"
)

func startTailed(t *testing.T, cfg EmbedConfig) *Embedded {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	e, err := StartEmbedded(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// tailedProducerAndReader starts an embedded log (its tail's budget
// budget, if not 0) with a producer of channel and a reader from its
// start, closed with the test.
func tailedProducerAndReader(t *testing.T, channel string, budget int64) (*NATS, context.Context, Producer, *natsReader) {
	t.Helper()
	l, ctx, p := tailedProducer(t, channel)
	if budget != 0 {
		l.tail.budget = budget
	}
	rd, err := l.Read(ctx, channel, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return l, ctx, p, rd.(*natsReader)
}

// tailedProducer starts an embedded log with a producer of channel, and a
// context bounded for the test.
func tailedProducer(t *testing.T, channel string) (*NATS, context.Context, Producer) {
	t.Helper()
	l := startTailed(t, EmbedConfig{}).Log()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	p, err := l.Producer(ctx, channel, 1)
	if err != nil {
		t.Fatal(err)
	}
	return l, ctx, p
}

func hasConsumer(r *natsReader) bool {
	r.itMu.Lock()
	defer r.itMu.Unlock()
	return r.it != nil
}

// A reader that follows a fenced writer takes every message from the
// tail, as the stream has it (IDs, payloads, properties), and holds no
// consumer while it waits at the end of the channel.
func TestTailServesFollowingReader(t *testing.T) {
	l, ctx, p, r := tailedProducerAndReader(t, "dml_0", 0)
	rd := Reader(r)
	var ids []MessageID
	for i := range 50 {
		props := map[string]string{"i": fmt.Sprint(i), "k=y": "v\nw"}
		payload := bytes.Repeat([]byte{byte(i)}, 1000+i)
		if i == 7 {
			props, payload = nil, nil
		}
		id, err := p.Append(ctx, payload, props)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		// Another channel's messages interleave in the stream.
		if _, err := l.Append(ctx, "other", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		m, err := rd.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != id || !bytes.Equal(m.Payload, payload) || m.Payload == nil || !maps.Equal(m.Properties, props) {
			t.Fatalf("message %d: got %d %q %v, want %d %q %v", i, m.ID, m.Payload, m.Properties, id, payload, props)
		}
		if hasConsumer(r) {
			t.Fatalf("message %d: the reader holds a consumer while following the writer", i)
		}
	}
	// A reader from the start reads the same through the stream, then
	// the tail.
	rd2, err := l.Read(ctx, "dml_0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Close()
	for i, id := range ids {
		m, err := rd2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != id {
			t.Fatalf("second reader's message %d: id %d, want %d", i, m.ID, id)
		}
	}
}

// A reader waiting at the end wakes for the next append, for a plain
// (unlinked) append too, and for Close.
func TestTailWaitingReaderWakes(t *testing.T) {
	l, ctx, p := tailedProducer(t, "ch")
	first, err := p.Append(ctx, []byte("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := l.Read(ctx, "ch", first)
	if err != nil {
		t.Fatal(err)
	}
	next := func() chan Message {
		got := make(chan Message, 1)
		go func() {
			m, err := rd.Next(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- m
		}()
		return got
	}
	got := next()
	time.Sleep(50 * time.Millisecond)
	id, err := p.Append(ctx, []byte("b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.ID != id || string(m.Payload) != "b" {
		t.Fatalf("got %d %q, want %d b", m.ID, m.Payload, id)
	}
	got = next()
	time.Sleep(50 * time.Millisecond)
	id, err = l.Append(ctx, "ch", []byte("plain"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.ID != id || string(m.Payload) != "plain" {
		t.Fatalf("after a plain append: got %d %q, want %d plain", m.ID, m.Payload, id)
	}
	// The producer's next append follows the plain one in the stream and
	// the tail links them again.
	if _, err := p.Append(ctx, []byte("c"), nil); err == nil || !errors.Is(err, ErrFenced) {
		// An untagged message does not fence: the producer adopts it.
		if err != nil {
			t.Fatal(err)
		}
	}
	if m, err := rd.Next(ctx); err != nil || string(m.Payload) != "c" {
		t.Fatalf("after the producer adopted the plain message: %q, %v", m.Payload, err)
	}
	done := make(chan error, 1)
	go func() { _, err := rd.Next(ctx); done <- err }()
	time.Sleep(50 * time.Millisecond)
	rd.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake a Next waiting at the end")
	}
}

// A reader that fell behind what the tail holds reads the stream, and
// takes the tail again once it caught up.
func TestTailLaggingReaderCatchesUp(t *testing.T) {
	_, ctx, p, r := tailedProducerAndReader(t, "ch", 10<<10) // a few messages
	rd := Reader(r)
	var ids []MessageID
	for i := range 40 {
		id, err := p.Append(ctx, bytes.Repeat([]byte{byte(i)}, 1<<10), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i, id := range ids {
		m, err := rd.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != id || m.Payload[0] != byte(i) || len(m.Payload) != 1<<10 {
			t.Fatalf("message %d: id %d (want %d), first byte %d", i, m.ID, id, m.Payload[0])
		}
	}
	if !hasConsumer(r) {
		// The last messages came from the tail: no consumer.
		t.Log("caught up on the tail")
	}
	id, err := p.Append(ctx, []byte("next"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := rd.Next(ctx)
	if err != nil || m.ID != id {
		t.Fatalf("after catching up: %d %v, want %d", m.ID, err, id)
	}
	if hasConsumer(r) {
		t.Fatal("a reader caught up still holds a consumer")
	}
}

// A truncation past a reader waiting at the end is reported.
func TestTailTruncatedUnderReader(t *testing.T) {
	l, ctx, p := tailedProducer(t, "ch")
	a, _ := p.Append(ctx, []byte("a"), nil)
	rd, err := l.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if m, err := rd.Next(ctx); err != nil || m.ID != a {
		t.Fatalf("first: %d %v", m.ID, err)
	}
	b, _ := p.Append(ctx, []byte("b"), nil)
	c, _ := p.Append(ctx, []byte("c"), nil)
	if err := l.Truncate(ctx, "ch", b); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(ctx); !errors.Is(err, ErrTruncated) {
		t.Fatalf("next after a truncation past the reader: %v, want ErrTruncated", err)
	}
	rd2, err := l.Read(ctx, "ch", b)
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Close()
	if m, err := rd2.Next(ctx); err != nil || m.ID != c {
		t.Fatalf("after the truncation point: %d %v, want %d", m.ID, err, c)
	}
}

// The tail's chain: an entry is served only after the one it names as
// previous; a break (an unlinked or uncertain append) starts it over, and
// entries go after their retention.
func TestLocalTailChain(t *testing.T) {
	tl := newLocalTail(1<<20, 50*time.Millisecond)
	defer tl.close()
	tl.appended("c", 10, 12, true, []byte("12"), nil)
	tl.appended("c", 12, 15, true, []byte("15"), nil)
	if e, found, _, _, _, _ := tl.lookup("c", 12); !found || e.id != 15 {
		t.Fatalf("after 12: %+v %v", e, found)
	}
	if _, found, atHead, known, _, _ := tl.lookup("c", 11); found || atHead || !known {
		t.Fatal("a position the chain does not link was served")
	}
	if _, _, atHead, _, _, _ := tl.lookup("c", 15); !atHead {
		t.Fatal("the last message is not the head")
	}
	tl.uncertain("c")
	if _, found, atHead, known, _, _ := tl.lookup("c", 12); found || atHead || known {
		t.Fatal("an uncertain append left the chain or the head known")
	}
	tl.appended("c", 16, 17, true, []byte("17"), nil)
	if _, found, _, _, _, _ := tl.lookup("c", 15); found {
		t.Fatal("a chain restarted after a break links to the old one")
	}
	if e, found, _, _, _, _ := tl.lookup("c", 16); !found || e.id != 17 {
		t.Fatal("the restarted chain is not served")
	}
	tl.appended("c", 0, 20, false, []byte("20"), nil)
	if _, found, atHead, known, _, _ := tl.lookup("c", 17); found || atHead || !known {
		t.Fatal("an unlinked append did not break the chain")
	}
	tl.appended("c", 20, 21, true, []byte("21"), nil)
	time.Sleep(200 * time.Millisecond)
	if _, found, _, _, _, _ := tl.lookup("c", 20); found {
		t.Fatal("an entry outlived its retention")
	}
	tl.mu.Lock()
	used := tl.used
	tl.mu.Unlock()
	if used != 0 {
		t.Fatalf("%d bytes counted with no entries", used)
	}
	// A reader's view of the end is recorded only if no append came in
	// between.
	_, _, _, _, v, _ := tl.lookup("d", 0)
	tl.appended("d", 0, 5, false, nil, nil)
	tl.knownLast("d", 3, v)
	if _, _, atHead, _, _, _ := tl.lookup("d", 5); !atHead {
		t.Fatal("a stale end read by a reader replaced the appended one")
	}
}

// Entries go as soon as every reader taking the channel's tail took them;
// a reader that left holds none.
func TestLocalTailDropsWhatReadersTook(t *testing.T) {
	tl := newLocalTail(1<<20, time.Hour)
	defer tl.close()
	a, b := new(int), new(int)
	tl.took("c", a, 10)
	tl.took("c", b, 10)
	tl.appended("c", 10, 11, true, []byte("11"), nil)
	tl.appended("c", 11, 12, true, []byte("12"), nil)
	tl.took("c", a, 12)
	if _, found, _, _, _, _ := tl.lookup("c", 10); !found {
		t.Fatal("an entry a reader has not taken was dropped")
	}
	tl.took("c", b, 11)
	if _, found, _, _, _, _ := tl.lookup("c", 10); found {
		t.Fatal("an entry every reader took was kept")
	}
	if _, found, _, _, _, _ := tl.lookup("c", 11); !found {
		t.Fatal("the entry reader b has not taken was dropped")
	}
	tl.left("c", b)
	tl.took("c", a, 12)
	tl.mu.Lock()
	n, used := len(tl.chans["c"].entries), tl.used
	tl.mu.Unlock()
	if n != 0 || used != 0 {
		t.Fatalf("%d entries, %d bytes kept after every reader took them", n, used)
	}
}
