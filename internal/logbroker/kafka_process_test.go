package logbroker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
	"github.com/milvago/milvago/internal/testservers"
)

// TestKafkaProcessConformance runs the suite against Kafka as a separate
// process (kfake with 3 brokers, reached over TCP as cluster mode reaches
// Kafka), topics replicated 3 times, the client given every broker.
func TestKafkaProcessConformance(t *testing.T) {
	k := testservers.StartKafka(t, 3)
	n := 0
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		n++
		return newKafka(t, logbroker.KafkaConfig{
			Brokers:           k.Brokers,
			TopicPrefix:       fmt.Sprintf("p%d_", n),
			ReplicationFactor: 3,
		})
	})
}

// TestKafkaProcessKilled kills the Kafka process with SIGKILL between
// writes and restarts it on its data: acknowledged appends and the
// truncation point survive, a reader opened before the crash resumes
// after it, and appends go on with the next IDs.
func TestKafkaProcessKilled(t *testing.T) {
	k := testservers.StartKafka(t, 3)
	l := newKafka(t, logbroker.KafkaConfig{Brokers: k.Brokers, ReplicationFactor: 3})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var ids []logbroker.MessageID
	for i := range 10 {
		id, err := l.Append(ctx, "ch", fmt.Appendf(nil, "m%d", i), map[string]string{"i": fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := l.Truncate(ctx, "ch", ids[2]); err != nil {
		t.Fatal(err)
	}
	r, err := l.Read(ctx, "ch", ids[5])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if m, err := r.Next(ctx); err != nil || m.ID != ids[6] {
		t.Fatalf("before the crash: %d, %v; want %d", m.ID, err, ids[6])
	}

	k.Kill(t)
	k.Restart(t)

	// The same client reconnects by itself.
	for i := 7; i < 10; i++ {
		m, err := r.Next(ctx)
		if err != nil || m.ID != ids[i] || string(m.Payload) != fmt.Sprintf("m%d", i) || m.Properties["i"] != fmt.Sprint(i) {
			t.Fatalf("after the restart, message %d: %+v, %v; want ID %d", i, m, err, ids[i])
		}
	}
	var id logbroker.MessageID
	for { // the first produce after the restart may still see the old connection fail
		id, err = l.Append(ctx, "ch", []byte("after"), nil)
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || id != ids[9]+1 {
		t.Fatalf("append after the restart: %d, %v; want %d", id, err, ids[9]+1)
	}
	if m, err := r.Next(ctx); err != nil || m.ID != id {
		t.Fatalf("read the new append: %d, %v", m.ID, err)
	}

	// kfake (like a Kafka broker between two checkpoints of the log start
	// offset) forgets DeleteRecords when it crashes: the value that
	// truncated truncates again when it sees the channel, and reads from
	// its truncation point meanwhile.
	if latest, err := l.Latest(ctx, "ch"); err != nil || latest != id {
		t.Fatalf("latest after the restart: %d, %v; want %d", latest, err, id)
	}
	r1, err := l.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	if m, err := r1.Next(ctx); err != nil || m.ID != ids[3] {
		t.Fatalf("oldest retained after the restart: %d, %v; want %d", m.ID, err, ids[3])
	}
	if _, err := l.Read(ctx, "ch", ids[1]); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("read below the truncation point after the restart: %v", err)
	}

	// A fresh client sees the truncation and the messages.
	l2 := newKafka(t, logbroker.KafkaConfig{Brokers: k.Brokers, ReplicationFactor: 3})
	if latest, err := l2.Latest(ctx, "ch"); err != nil || latest != id {
		t.Fatalf("latest after the restart: %d, %v; want %d", latest, err, id)
	}
	r2, err := l2.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if m, err := r2.Next(ctx); err != nil || m.ID != ids[3] {
		t.Fatalf("oldest retained after the restart: %d, %v; want %d", m.ID, err, ids[3])
	}
}

// TestKafkaConcurrentTopicCreation: several processes' logs use a new
// channel at the same moment (in cluster mode, the streaming node appends
// while the query and data nodes open readers), so all but one find the
// topic already created, maybe before the brokers list it. Every append
// and read succeeds.
func TestKafkaConcurrentTopicCreation(t *testing.T) {
	k := testservers.StartKafka(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const logs, channels = 4, 20
	ls := make([]*logbroker.Kafka, logs)
	for i := range ls {
		ls[i] = newKafka(t, logbroker.KafkaConfig{Brokers: k.Brokers})
	}
	// A log that looked the channel up before anyone created it (its
	// client caches the answer "unknown topic" for a while) and then finds
	// it created by another.
	if latest, err := ls[0].Latest(ctx, "early"); err != nil || latest != 0 {
		t.Fatalf("latest of a new channel: %d, %v", latest, err)
	}
	if _, err := ls[1].Append(ctx, "early", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ls[0].Append(ctx, "early", []byte("y"), nil); err != nil {
		t.Fatalf("append to a channel created by another log after a lookup: %v", err)
	}
	errc := make(chan error, logs*channels)
	var wg sync.WaitGroup
	for c := range channels {
		for i, l := range ls {
			wg.Go(func() {
				ch := fmt.Sprintf("ch_%d", c)
				if i%2 == 0 {
					_, err := l.Append(ctx, ch, []byte("x"), nil)
					errc <- err
					return
				}
				r, err := l.Read(ctx, ch, 0)
				if err == nil {
					r.Close()
				}
				errc <- err
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	for c := range channels {
		if latest, err := ls[1].Latest(ctx, fmt.Sprintf("ch_%d", c)); err != nil || latest != logs/2 {
			t.Errorf("channel %d: latest %d, %v; want %d", c, latest, err, logs/2)
		}
	}
}
