package logbrokertest

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
)

// The fencing cases (logbroker.Fencing): a log that does not implement it
// skips them, saying so.

func fencing(t *testing.T, l logbroker.Log) logbroker.Fencing {
	t.Helper()
	f, ok := l.(logbroker.Fencing)
	if !ok {
		t.Skipf("%T does not implement logbroker.Fencing", l)
	}
	return f
}

func producer(t *testing.T, f logbroker.Fencing, ch string, epoch int64) logbroker.Producer {
	t.Helper()
	p, err := f.Producer(ctx(t), ch, epoch)
	if err != nil {
		t.Fatalf("producer of %s at epoch %d: %v", ch, epoch, err)
	}
	return p
}

func produce(t *testing.T, p logbroker.Producer, data string) logbroker.MessageID {
	t.Helper()
	id, err := p.Append(ctx(t), []byte(data), map[string]string{"data": data})
	if err != nil {
		t.Fatalf("append %q: %v", data, err)
	}
	return id
}

func expectFenced(t *testing.T, p logbroker.Producer, data string) {
	t.Helper()
	if id, err := p.Append(ctx(t), []byte(data), nil); !errors.Is(err, logbroker.ErrFenced) {
		t.Fatalf("append %q by a fenced producer: id %d, %v; want ErrFenced", data, id, err)
	}
}

// expectPayloads reads ch from the start and checks its payloads.
func expectPayloads(t *testing.T, l logbroker.Log, ch string, after logbroker.MessageID, want ...string) {
	t.Helper()
	r := read(t, l, ch, after)
	for i, w := range want {
		m := next(t, r)
		if string(m.Payload) != w {
			t.Fatalf("%s message %d: %q, want %q", ch, i, m.Payload, w)
		}
	}
	expectBlocked(t, r)
}

// testFenceNewer: once a producer of a higher epoch appended, an older
// one's appends fail for good and a producer of the old epoch cannot be
// opened again.
func testFenceNewer(t *testing.T, l logbroker.Log) {
	f := fencing(t, l)
	old := producer(t, f, "ch", 1)
	a := produce(t, old, "a")
	if old.Last() != a {
		t.Fatalf("Last %d after appending %d", old.Last(), a)
	}
	next := producer(t, f, "ch", 2)
	if next.Last() != a {
		t.Fatalf("a new producer's Last is %d, want the last message %d", next.Last(), a)
	}
	b := produce(t, next, "b")
	if b <= a {
		t.Fatalf("id %d after %d", b, a)
	}
	expectFenced(t, old, "stale")
	expectFenced(t, old, "stale again")
	if _, err := f.Producer(ctx(t), "ch", 1); !errors.Is(err, logbroker.ErrFenced) {
		t.Fatalf("open at epoch 1 after epoch 2 appended: %v, want ErrFenced", err)
	}
	produce(t, next, "c")
	expectPayloads(t, l, "ch", 0, "a", "b", "c")
	// Other channels are not fenced.
	produce(t, producer(t, f, "other", 1), "x")
}

// testFenceOlderBeforeFirst: an older producer's append that lands after
// the newer producer opened but before its first append comes first; the
// newer producer's append goes after it, and fences the older one.
func testFenceOlderBeforeFirst(t *testing.T, l logbroker.Log) {
	f := fencing(t, l)
	old := producer(t, f, "ch", 1)
	produce(t, old, "a")
	next := producer(t, f, "ch", 2)
	produce(t, old, "late") // paused between its check and its append
	produce(t, next, "b")
	expectFenced(t, old, "stale")
	expectPayloads(t, l, "ch", 0, "a", "late", "b")
}

// testFenceSameEpoch: two producers of one epoch are two writers: the
// second to append after the other is refused.
func testFenceSameEpoch(t *testing.T, l logbroker.Log) {
	f := fencing(t, l)
	p1 := producer(t, f, "ch", 3)
	p2 := producer(t, f, "ch", 3)
	produce(t, p1, "a")
	expectFenced(t, p2, "b")
	produce(t, p1, "c")
	// Opening under the epoch of the last message adopts it (a writer
	// restarted under its term).
	p3 := producer(t, f, "ch", 3)
	produce(t, p3, "d")
	expectFenced(t, p1, "e")
	expectPayloads(t, l, "ch", 0, "a", "c", "d")
}

// testFenceTruncated: truncating every message keeps the fence: the
// older producer is still refused and the current one still appends.
func testFenceTruncated(t *testing.T, l logbroker.Log) {
	f := fencing(t, l)
	old := producer(t, f, "ch", 1)
	produce(t, old, "a")
	last := produce(t, old, "b")
	if err := l.Truncate(ctx(t), "ch", last); err != nil {
		t.Fatal(err)
	}
	produce(t, old, "c")
	next := producer(t, f, "ch", 2)
	d := produce(t, next, "d")
	if err := l.Truncate(ctx(t), "ch", d); err != nil {
		t.Fatal(err)
	}
	expectFenced(t, old, "stale")
	if _, err := f.Producer(ctx(t), "ch", 1); !errors.Is(err, logbroker.ErrFenced) {
		t.Fatalf("open at epoch 1 after truncation: %v, want ErrFenced", err)
	}
	next2 := producer(t, f, "ch", 2)
	if next2.Last() < d {
		t.Fatalf("Last after truncating everything: %d, want >= %d", next2.Last(), d)
	}
	produce(t, next2, "e")
	expectPayloads(t, l, "ch", d, "e")
}

// testFenceUntagged: plain appends mixed with a producer's are adopted;
// a producer's message carries exactly the caller's properties.
func testFenceUntagged(t *testing.T, l logbroker.Log) {
	f := fencing(t, l)
	if _, err := l.Append(ctx(t), "ch", []byte("plain"), nil); err != nil {
		t.Fatal(err)
	}
	p := producer(t, f, "ch", 1)
	produce(t, p, "a")
	if _, err := l.Append(ctx(t), "ch", []byte("plain2"), nil); err != nil {
		t.Fatal(err)
	}
	id := produce(t, p, "b")
	r := read(t, l, "ch", 0)
	var got []string
	for range 4 {
		m := next(t, r)
		got = append(got, string(m.Payload))
		if m.ID == id && !maps.Equal(m.Properties, map[string]string{"data": "b"}) {
			t.Fatalf("properties of a producer's message: %v", m.Properties)
		}
	}
	if fmt.Sprint(got) != "[plain a plain2 b]" {
		t.Fatalf("messages: %v", got)
	}
}
