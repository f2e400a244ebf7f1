package logbroker_test

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
)

// TestKafkaTruncateUnderReaderWhileAppending is
// TestNATSTruncateUnderReaderWhileAppending on Kafka: another Kafka value
// (another process) truncates past what a reader has fetched while the
// writer goes on appending. The reader's next fetch is below the log
// start offset: it must fail with ErrTruncated, and every message it
// returns before must follow the one before it.
func TestKafkaTruncateUnderReaderWhileAppending(t *testing.T) {
	brokers := startKafka(t, 1)
	// Small messages and fetches: the reader's client holds a few
	// records, the rest wait in the broker until it asks.
	cfg := logbroker.KafkaConfig{Brokers: brokers, MaxMessageBytes: 4 << 10}
	writer, reader := newKafka(t, cfg), newKafka(t, cfg)
	ctx := t.Context()
	p, err := writer.Producer(ctx, "ch", 1)
	if err != nil {
		t.Fatal(err)
	}
	// Random bytes: the producer compresses batches, and zeros would let
	// every record fit in one fetch.
	payload := make([]byte, 3<<10)
	rand.Read(payload)
	var ids []logbroker.MessageID
	appendN := func(n int) {
		for range n {
			id, err := p.Append(ctx, payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	appendN(40)
	r, err := reader.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil || m.ID != ids[0] {
		t.Fatalf("first message: %d, %v; want %d", m.ID, err, ids[0])
	}
	upTo := ids[35]
	if err := writer.Truncate(ctx, "ch", upTo); err != nil {
		t.Fatal(err)
	}
	appendN(35)
	last := m.ID
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, logbroker.ErrTruncated) {
			t.Logf("after %d: %v", last, err)
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		k := slices.Index(ids, m.ID)
		if k < 1 || ids[k-1] != last {
			t.Fatalf("read %d after %d: the messages between were skipped silently (want ErrTruncated)", m.ID, last)
		}
		if m.ID >= upTo {
			t.Fatalf("read %d, past the truncation point %d, without ErrTruncated", m.ID, upTo)
		}
		last = m.ID
	}
}
