package logbroker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
)

// startKafka runs franz-go's in-process Kafka (kfake: the Kafka protocol
// with real brokers' semantics for produce, fetch, list offsets, create
// topics and delete records) and returns its broker addresses.
func startKafka(t *testing.T, brokers int) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func newKafka(t *testing.T, cfg logbroker.KafkaConfig) *logbroker.Kafka {
	t.Helper()
	l, err := logbroker.NewKafka(t.Context(), cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestKafkaConformance runs the suite against a 3-broker kfake cluster,
// topics replicated 3 times, several logs sharing it under different
// topic prefixes.
func TestKafkaConformance(t *testing.T) {
	brokers := startKafka(t, 3)
	n := 0
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		n++
		return newKafka(t, logbroker.KafkaConfig{
			Brokers:           brokers,
			TopicPrefix:       fmt.Sprintf("t%d_", n),
			ReplicationFactor: 3,
		})
	})
}

// TestKafkaLargeMessages runs the suite with an 8 MiB payload limit, the
// embedded NATS server's.
func TestKafkaLargeMessages(t *testing.T) {
	brokers := startKafka(t, 1)
	l := newKafka(t, logbroker.KafkaConfig{Brokers: brokers, MaxMessageBytes: logbroker.DefaultMaxMessageBytes})
	if got := l.MaxMessageBytes(); got != logbroker.DefaultMaxMessageBytes {
		t.Fatalf("MaxMessageBytes %d", got)
	}
	big := make([]byte, l.MaxMessageBytes())
	id, err := l.Append(t.Context(), "big", big, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Read(t.Context(), "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(t.Context())
	if err != nil || m.ID != id || len(m.Payload) != len(big) {
		t.Fatalf("read back: %v, id %d, %d bytes", err, m.ID, len(m.Payload))
	}
}

// TestKafkaSharedTopic checks that two Kafka values (two processes, in
// cluster mode) see each other's appends and truncations.
func TestKafkaSharedTopic(t *testing.T) {
	brokers := startKafka(t, 1)
	a := newKafka(t, logbroker.KafkaConfig{Brokers: brokers})
	b := newKafka(t, logbroker.KafkaConfig{Brokers: brokers})
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

func TestKafkaConfig(t *testing.T) {
	f := func(cfg logbroker.KafkaConfig, ok bool) {
		t.Helper()
		if err := cfg.Validate(); (err == nil) != ok {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
	f(logbroker.KafkaConfig{Brokers: []string{"k:9092"}}, true)
	f(logbroker.KafkaConfig{Brokers: []string{"k:9092"}, TopicPrefix: "milvago_a-1", ReplicationFactor: 3}, true)
	f(logbroker.KafkaConfig{}, false)
	f(logbroker.KafkaConfig{Brokers: []string{"k:9092"}, TopicPrefix: "a.b"}, false)
	f(logbroker.KafkaConfig{Brokers: []string{"k:9092"}, ReplicationFactor: -1}, false)
	f(logbroker.KafkaConfig{Brokers: []string{"k:9092"}, MaxMessageBytes: 65 << 20}, false)
}

func TestNewKafkaUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := logbroker.NewKafka(ctx, logbroker.KafkaConfig{Brokers: []string{"127.0.0.1:1"}}, nil); err == nil {
		t.Fatal("connected to nothing")
	}
}

// TestKafkaPersistent restarts the broker (kfake with a data directory,
// shut down cleanly) between writing and reading: messages, IDs and
// truncation points are the broker's, so they survive.
func TestKafkaPersistent(t *testing.T) {
	logbrokertest.RunPersistent(t, func(t *testing.T, dir string) logbroker.Log {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		l, err := logbroker.NewKafka(t.Context(), logbroker.KafkaConfig{Brokers: c.ListenAddrs()}, testLogger())
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		return &withBroker{Kafka: l, broker: c}
	})
}

// withBroker is a Kafka log that also stops its broker when closed.
type withBroker struct {
	*logbroker.Kafka
	broker *kfake.Cluster
	once   sync.Once
}

func (w *withBroker) Close() error {
	err := w.Kafka.Close()
	w.once.Do(w.broker.Close)
	return err
}
