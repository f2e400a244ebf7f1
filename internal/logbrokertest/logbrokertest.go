// Package logbrokertest is the conformance suite every logbroker.Log
// implementation runs: the same test body against the in-memory log and
// the embedded NATS JetStream log (and any future backend).
//
//	func TestConformance(t *testing.T) {
//		logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
//			l := logbroker.NewMemory(logbroker.MemoryConfig{})
//			t.Cleanup(func() { l.Close() })
//			return l
//		})
//	}
//
// newLog must return a fresh, empty log for each call, and arrange for it
// to be closed when the test ends; Close must be idempotent, since some
// tests close the log themselves. Backends that keep data across restarts
// also run RunPersistent.
package logbrokertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// wait bounds every wait of the suite; nothing sleeps.
const wait = 20 * time.Second

// Run runs the conformance suite against logs made by newLog.
func Run(t *testing.T, newLog func(t *testing.T) logbroker.Log) {
	tests := []struct {
		name string
		f    func(t *testing.T, l logbroker.Log)
	}{
		{"AppendRead", testAppendRead},
		{"ReadAfter", testReadAfter},
		{"BlockingNext", testBlockingNext},
		{"NextContext", testNextContext},
		{"ReaderClose", testReaderClose},
		{"LogClose", testLogClose},
		{"Channels", testChannels},
		{"BadChannel", testBadChannel},
		{"Latest", testLatest},
		{"Truncate", testTruncate},
		{"TruncateAll", testTruncateAll},
		{"TruncateUnderReader", testTruncateUnderReader},
		{"Properties", testProperties},
		{"Payloads", testPayloads},
		{"MaxMessageBytes", testMaxMessageBytes},
		{"ConcurrentAppend", testConcurrentAppend},
		{"FenceNewer", testFenceNewer},
		{"FenceOlderBeforeFirst", testFenceOlderBeforeFirst},
		{"FenceSameEpoch", testFenceSameEpoch},
		{"FenceTruncated", testFenceTruncated},
		{"FenceUntagged", testFenceUntagged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f(t, newLog(t))
		})
	}
}

// ctx returns a context bounded by the suite's wait.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), wait)
	t.Cleanup(cancel)
	return c
}

func appendN(t *testing.T, l logbroker.Log, ch string, n int) []logbroker.MessageID {
	t.Helper()
	var ids []logbroker.MessageID
	for i := range n {
		id, err := l.Append(ctx(t), ch, payload(ch, i), map[string]string{"i": fmt.Sprint(i)})
		if err != nil {
			t.Fatalf("append %d to %q: %v", i, ch, err)
		}
		if id == 0 || len(ids) > 0 && id <= ids[len(ids)-1] {
			t.Fatalf("append %d to %q: id %d after %v", i, ch, id, ids)
		}
		ids = append(ids, id)
	}
	return ids
}

func payload(ch string, i int) []byte { return fmt.Appendf(nil, "%s/%d", ch, i) }

func read(t *testing.T, l logbroker.Log, ch string, after logbroker.MessageID) logbroker.Reader {
	t.Helper()
	r, err := l.Read(ctx(t), ch, after)
	if err != nil {
		t.Fatalf("read %q after %d: %v", ch, after, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func next(t *testing.T, r logbroker.Reader) logbroker.Message {
	t.Helper()
	m, err := r.Next(ctx(t))
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return m
}

// expect reads len(ids) messages and checks they are ids[k] with the
// payloads appendN gave them, starting at index from.
func expect(t *testing.T, r logbroker.Reader, ch string, ids []logbroker.MessageID, from int) {
	t.Helper()
	for k, id := range ids {
		m := next(t, r)
		if m.ID != id {
			t.Fatalf("%q message %d: id %d, want %d", ch, from+k, m.ID, id)
		}
		if want := payload(ch, from+k); !bytes.Equal(m.Payload, want) {
			t.Fatalf("%q message %d: payload %q, want %q", ch, from+k, m.Payload, want)
		}
		if got := m.Properties["i"]; got != fmt.Sprint(from+k) {
			t.Fatalf("%q message %d: property i=%q", ch, from+k, got)
		}
	}
}

// expectBlocked checks that Next has nothing to return right now: it must
// still be blocked when a short context ends.
func expectBlocked(t *testing.T, r logbroker.Reader) {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	m, err := r.Next(c)
	if err == nil {
		t.Fatalf("next: got message %d (%q), want none", m.ID, m.Payload)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next on a caught-up reader: %v, want context.DeadlineExceeded", err)
	}
}

// nextAsync runs Next in a goroutine owned by the test: the returned
// channel yields its result, and the test waits for it before ending.
func nextAsync(t *testing.T, c context.Context, r logbroker.Reader) <-chan result {
	out := make(chan result, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m, err := r.Next(c)
		out <- result{m, err}
	}()
	t.Cleanup(wg.Wait)
	return out
}

type result struct {
	m   logbroker.Message
	err error
}

func receive(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(wait):
		t.Fatal("next did not return")
		return result{}
	}
}

func testAppendRead(t *testing.T, l logbroker.Log) {
	ids := appendN(t, l, "ch", 10)
	expect(t, read(t, l, "ch", 0), "ch", ids, 0)
	// A second reader sees the same thing.
	r := read(t, l, "ch", 0)
	expect(t, r, "ch", ids, 0)
	expectBlocked(t, r)
}

func testReadAfter(t *testing.T, l logbroker.Log) {
	ids := appendN(t, l, "ch", 10)
	f := func(after logbroker.MessageID, from int) {
		t.Helper()
		r := read(t, l, "ch", after)
		expect(t, r, "ch", ids[from:], from)
		expectBlocked(t, r)
	}
	f(0, 0)
	f(ids[0], 1)
	f(ids[4], 5)
	f(ids[8], 9)
	f(ids[9], 10)
	// A position between two IDs (IDs need not be contiguous) or past
	// the end reads what comes after it.
	f(ids[9]+1000, 10)
	if ids[5] > ids[4]+1 {
		f(ids[4]+1, 5)
	}
}

func testBlockingNext(t *testing.T, l logbroker.Log) {
	ids := appendN(t, l, "ch", 3)
	r := read(t, l, "ch", ids[2])
	res := nextAsync(t, ctx(t), r)
	id, err := l.Append(ctx(t), "ch", []byte("later"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, res)
	if got.err != nil || got.m.ID != id || string(got.m.Payload) != "later" {
		t.Fatalf("blocked next: %v %d %q, want %d %q", got.err, got.m.ID, got.m.Payload, id, "later")
	}
	// A reader of an empty channel too.
	r = read(t, l, "empty", 0)
	res = nextAsync(t, ctx(t), r)
	id, err = l.Append(ctx(t), "empty", []byte("first"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := receive(t, res); got.err != nil || got.m.ID != id {
		t.Fatalf("blocked next on empty channel: %v %d, want %d", got.err, got.m.ID, id)
	}
}

func testNextContext(t *testing.T, l logbroker.Log) {
	appendN(t, l, "ch", 1)
	r := read(t, l, "ch", 0)
	next(t, r)
	c, cancel := context.WithCancel(t.Context())
	res := nextAsync(t, c, r)
	cancel()
	if got := receive(t, res); !errors.Is(got.err, context.Canceled) {
		t.Fatalf("next after cancel: %v, want context.Canceled", got.err)
	}
	// An already-ended context fails at once.
	if _, err := r.Next(c); !errors.Is(err, context.Canceled) {
		t.Fatalf("next with a cancelled context: %v", err)
	}
	// The reader still works afterwards.
	id, err := l.Append(ctx(t), "ch", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := next(t, r); m.ID != id {
		t.Fatalf("next after a cancelled next: %d, want %d", m.ID, id)
	}
}

func testReaderClose(t *testing.T, l logbroker.Log) {
	appendN(t, l, "ch", 2)
	r := read(t, l, "ch", 0)
	next(t, r)
	next(t, r)
	res := nextAsync(t, ctx(t), r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, res); !errors.Is(got.err, logbroker.ErrClosed) {
		t.Fatalf("blocked next, reader closed: %v, want ErrClosed", got.err)
	}
	if _, err := r.Next(ctx(t)); !errors.Is(err, logbroker.ErrClosed) {
		t.Fatalf("next on a closed reader: %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// Other readers are unaffected.
	appendN(t, l, "other", 1)
	next(t, read(t, l, "ch", 0))
}

func testLogClose(t *testing.T, l logbroker.Log) {
	appendN(t, l, "ch", 1)
	r := read(t, l, "ch", 0)
	next(t, r)
	res := nextAsync(t, ctx(t), r)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, res); !errors.Is(got.err, logbroker.ErrClosed) {
		t.Fatalf("blocked next, log closed: %v, want ErrClosed", got.err)
	}
	if _, err := l.Append(ctx(t), "ch", []byte("x"), nil); !errors.Is(err, logbroker.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	if _, err := l.Read(ctx(t), "ch", 0); !errors.Is(err, logbroker.ErrClosed) {
		t.Fatalf("read after close: %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func testChannels(t *testing.T, l logbroker.Log) {
	names := []string{
		"by-dev-rootcoord-dml_0", "by-dev-rootcoord-dml_0_449v0", "by-dev-rootcoord-dml_1",
		"a.b", "a", "x y", "*", ">", "a.*", "ünicode", "~abc", "%41", "A",
	}
	want := make(map[string][]logbroker.MessageID)
	for i := range 3 {
		for _, ch := range names {
			id, err := l.Append(ctx(t), ch, payload(ch, i), map[string]string{"i": fmt.Sprint(i)})
			if err != nil {
				t.Fatalf("append to %q: %v", ch, err)
			}
			want[ch] = append(want[ch], id)
		}
	}
	for _, ch := range names {
		r := read(t, l, ch, 0)
		expect(t, r, ch, want[ch], 0)
		expectBlocked(t, r)
		latest, err := l.Latest(ctx(t), ch)
		if err != nil || latest != want[ch][2] {
			t.Fatalf("latest of %q: %d, %v; want %d", ch, latest, err, want[ch][2])
		}
	}
	// Truncating one channel leaves the others alone.
	if err := l.Truncate(ctx(t), names[0], want[names[0]][2]); err != nil {
		t.Fatal(err)
	}
	expect(t, read(t, l, names[1], 0), names[1], want[names[1]], 0)
}

func testBadChannel(t *testing.T, l logbroker.Log) {
	if _, err := l.Append(ctx(t), "", []byte("x"), nil); err == nil {
		t.Fatal("append to the empty channel name succeeded")
	}
	if _, err := l.Read(ctx(t), "", 0); err == nil {
		t.Fatal("read of the empty channel name succeeded")
	}
}

func testLatest(t *testing.T, l logbroker.Log) {
	f := func(ch string, want logbroker.MessageID) {
		t.Helper()
		got, err := l.Latest(ctx(t), ch)
		if err != nil || got != want {
			t.Fatalf("latest of %q: %d, %v; want %d", ch, got, err, want)
		}
	}
	f("ch", 0)
	ids := appendN(t, l, "ch", 3)
	f("ch", ids[2])
	appendN(t, l, "other", 3)
	f("ch", ids[2])
	// Read(Latest) returns exactly what comes next.
	r := read(t, l, "ch", ids[2])
	more := appendN(t, l, "ch", 1)
	if m := next(t, r); m.ID != more[0] {
		t.Fatalf("read after latest: %d, want %d", m.ID, more[0])
	}
}

func testTruncate(t *testing.T, l logbroker.Log) {
	ids := appendN(t, l, "ch", 10)
	if err := l.Truncate(ctx(t), "ch", ids[4]); err != nil {
		t.Fatal(err)
	}
	// Positions below the truncation point are gone.
	for _, after := range []logbroker.MessageID{ids[0], ids[2], ids[3], ids[4] - 1} {
		r, err := l.Read(ctx(t), "ch", after)
		if !errors.Is(err, logbroker.ErrTruncated) {
			if r != nil {
				r.Close()
			}
			t.Fatalf("read after %d, truncated up to %d: %v, want ErrTruncated", after, ids[4], err)
		}
	}
	// The truncation point itself and later ones read on.
	expect(t, read(t, l, "ch", ids[4]), "ch", ids[5:], 5)
	expect(t, read(t, l, "ch", ids[6]), "ch", ids[7:], 7)
	// after = 0 reads from the oldest retained message.
	expect(t, read(t, l, "ch", 0), "ch", ids[5:], 5)
	latest, err := l.Latest(ctx(t), "ch")
	if err != nil || latest != ids[9] {
		t.Fatalf("latest after truncate: %d, %v; want %d", latest, err, ids[9])
	}
	// Truncate never goes backwards and is idempotent.
	for _, upTo := range []logbroker.MessageID{ids[4], ids[1], 0} {
		if err := l.Truncate(ctx(t), "ch", upTo); err != nil {
			t.Fatalf("truncate up to %d: %v", upTo, err)
		}
	}
	expect(t, read(t, l, "ch", 0), "ch", ids[5:], 5)
	// Truncating an untouched channel is harmless.
	if err := l.Truncate(ctx(t), "untouched", 100); err != nil {
		t.Fatal(err)
	}
	other := appendN(t, l, "untouched", 2)
	expect(t, read(t, l, "untouched", 0), "untouched", other, 0)
}

func testTruncateAll(t *testing.T, l logbroker.Log) {
	ids := appendN(t, l, "ch", 5)
	appendN(t, l, "other", 5)
	// Beyond the last ID: clamped, so later appends survive.
	if err := l.Truncate(ctx(t), "ch", ids[4]+1_000_000); err != nil {
		t.Fatal(err)
	}
	latest, err := l.Latest(ctx(t), "ch")
	if err != nil || latest < ids[4] {
		t.Fatalf("latest after truncating everything: %d, %v; want >= %d", latest, err, ids[4])
	}
	r0 := read(t, l, "ch", 0)
	expectBlocked(t, r0)
	rl := read(t, l, "ch", latest)
	if _, err := l.Read(ctx(t), "ch", ids[3]); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("read after %d: %v, want ErrTruncated", ids[3], err)
	}
	more := appendN(t, l, "ch", 2)
	if more[0] <= latest {
		t.Fatalf("append after truncation: id %d <= latest %d", more[0], latest)
	}
	expect(t, r0, "ch", more, 0)
	expect(t, rl, "ch", more, 0)
	expect(t, read(t, l, "ch", 0), "ch", more, 0)
}

func testTruncateUnderReader(t *testing.T, l logbroker.Log) {
	ids := appendN(t, l, "ch", 10)
	r := read(t, l, "ch", 0)
	expect(t, r, "ch", ids[:2], 0)
	if err := l.Truncate(ctx(t), "ch", ids[5]); err != nil {
		t.Fatal(err)
	}
	// The reader would skip messages 2..5: it must say so, for good.
	for range 2 {
		if m, err := r.Next(ctx(t)); !errors.Is(err, logbroker.ErrTruncated) {
			t.Fatalf("next on a reader passed by truncation: %d %v, want ErrTruncated", m.ID, err)
		}
	}
	// A reader at the truncation point is fine.
	r2 := read(t, l, "ch", ids[5])
	expect(t, r2, "ch", ids[6:8], 6)
	if err := l.Truncate(ctx(t), "ch", ids[7]); err != nil {
		t.Fatal(err)
	}
	expect(t, r2, "ch", ids[8:], 8)
}

func testProperties(t *testing.T, l logbroker.Log) {
	cases := []map[string]string{
		nil,
		{"msgType": "Insert", "collectionID": "449", "ts": "453018271398297601"},
		{
			"k:colon": "v:colon", "sp ace": " lead and trail ", "nl": "a\r\nb\n",
			"pct": "100%25%", "utf": "héllo ✓", "Nats-Msg-Id": "mine", "empty": "",
			"tab\t": "\t", "CaSe": "UPPER", "case": "lower", "": "empty key",
		},
	}
	var ids []logbroker.MessageID
	for _, props := range cases {
		id, err := l.Append(ctx(t), "ch", []byte("p"), props)
		if err != nil {
			t.Fatalf("append with %q: %v", props, err)
		}
		ids = append(ids, id)
	}
	r := read(t, l, "ch", 0)
	for i, props := range cases {
		m := next(t, r)
		if m.ID != ids[i] {
			t.Fatalf("message %d: id %d, want %d", i, m.ID, ids[i])
		}
		if len(props) == 0 && len(m.Properties) == 0 {
			continue
		}
		if !maps.Equal(m.Properties, props) {
			t.Fatalf("message %d: properties\n%q\nwant\n%q", i, m.Properties, props)
		}
	}
	// Properties are copied at Append.
	props := map[string]string{"a": "1"}
	if _, err := l.Append(ctx(t), "copy", []byte("x"), props); err != nil {
		t.Fatal(err)
	}
	props["a"] = "2"
	if m := next(t, read(t, l, "copy", 0)); m.Properties["a"] != "1" {
		t.Fatalf("properties not copied at append: %q", m.Properties)
	}
}

func testPayloads(t *testing.T, l logbroker.Log) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := [][]byte{{}, nil, all, bytes.Repeat([]byte("\r\nPUB x 1\r\n"), 100)}
	var ids []logbroker.MessageID
	for _, p := range cases {
		id, err := l.Append(ctx(t), "ch", p, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r := read(t, l, "ch", 0)
	for i, p := range cases {
		m := next(t, r)
		if m.ID != ids[i] || !bytes.Equal(m.Payload, p) {
			t.Fatalf("payload %d: id %d %q, want %d %q", i, m.ID, m.Payload, ids[i], p)
		}
	}
	// The caller may reuse its buffer once Append returns, and owns what
	// Next returns.
	buf := []byte("original")
	if _, err := l.Append(ctx(t), "reuse", buf, nil); err != nil {
		t.Fatal(err)
	}
	copy(buf, "CLOBBER!")
	m := next(t, read(t, l, "reuse", 0))
	if string(m.Payload) != "original" {
		t.Fatalf("payload after the caller reused its buffer: %q", m.Payload)
	}
	copy(m.Payload, "CLOBBER!")
	if m := next(t, read(t, l, "reuse", 0)); string(m.Payload) != "original" {
		t.Fatalf("payload after the reader modified its copy: %q", m.Payload)
	}
}

func testMaxMessageBytes(t *testing.T, l logbroker.Log) {
	limit := l.MaxMessageBytes()
	if limit < 1<<20-4<<10 {
		t.Fatalf("MaxMessageBytes %d: want at least 1 MiB - 4 KiB", limit)
	}
	big := make([]byte, limit)
	for i := range big {
		big[i] = byte(i * 7)
	}
	props := map[string]string{"msgType": "Insert"}
	id, err := l.Append(ctx(t), "ch", big, props)
	if err != nil {
		t.Fatalf("append of MaxMessageBytes (%d) bytes: %v", limit, err)
	}
	if _, err := l.Append(ctx(t), "ch", make([]byte, limit+1), nil); !errors.Is(err, logbroker.ErrTooLarge) {
		t.Fatalf("append of MaxMessageBytes+1 bytes: %v, want ErrTooLarge", err)
	}
	huge := map[string]string{"k": string(bytes.Repeat([]byte("v"), logbroker.MaxPropertiesBytes))}
	if _, err := l.Append(ctx(t), "ch", big, huge); !errors.Is(err, logbroker.ErrTooLarge) {
		t.Fatalf("append with %d bytes of properties: %v, want ErrTooLarge", logbroker.MaxPropertiesBytes, err)
	}
	// Properties just under the limit fit with a maximal payload.
	fit := map[string]string{"k": string(bytes.Repeat([]byte("v"), logbroker.MaxPropertiesBytes-len("P-k: \r\n")))}
	id2, err := l.Append(ctx(t), "ch", big, fit)
	if err != nil {
		t.Fatalf("append of a maximal payload with %d bytes of properties: %v", logbroker.MaxPropertiesBytes, err)
	}
	r := read(t, l, "ch", 0)
	for _, want := range []logbroker.MessageID{id, id2} {
		m := next(t, r)
		if m.ID != want || !bytes.Equal(m.Payload, big) {
			t.Fatalf("maximal message: id %d, %d bytes; want %d, %d bytes", m.ID, len(m.Payload), want, len(big))
		}
	}
}

func testConcurrentAppend(t *testing.T, l logbroker.Log) {
	const writers, per = 4, 50
	r := read(t, l, "ch", 0)
	ids := make([][]logbroker.MessageID, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				id, err := l.Append(ctx(t), "ch", fmt.Appendf(nil, "%d/%d", w, i), nil)
				if err != nil {
					errs[w] = err
					return
				}
				ids[w] = append(ids[w], id)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	acked := make(map[logbroker.MessageID]string)
	for w := range writers {
		for i, id := range ids[w] {
			if i > 0 && id <= ids[w][i-1] {
				t.Fatalf("writer %d: ids not increasing: %v", w, ids[w])
			}
			if prev, dup := acked[id]; dup {
				t.Fatalf("id %d given to %s and %d/%d", id, prev, w, i)
			}
			acked[id] = fmt.Sprintf("%d/%d", w, i)
		}
	}
	var got []logbroker.MessageID
	for range writers * per {
		m := next(t, r)
		if want, ok := acked[m.ID]; !ok || string(m.Payload) != want {
			t.Fatalf("read id %d %q, acked as %q", m.ID, m.Payload, want)
		}
		got = append(got, m.ID)
	}
	if !slices.IsSorted(got) {
		t.Fatalf("reader saw ids out of order")
	}
	expectBlocked(t, r)
	// A second reader sees the same order.
	r2 := read(t, l, "ch", 0)
	for _, id := range got {
		if m := next(t, r2); m.ID != id {
			t.Fatalf("second reader: id %d, want %d", m.ID, id)
		}
	}
}
