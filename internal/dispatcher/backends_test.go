package dispatcher

import (
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

// TestBackends: 1,200 virtual channels of one physical channel, more than
// NATS JetStream's default of 1,000 consumers per stream, read through
// one reader of each real backend: the embedded NATS server (which must
// hold a single consumer) and Kafka (franz-go's in-process kfake).
func TestBackends(t *testing.T) {
	const subs = 1200
	run := func(t *testing.T, l logbroker.Log, consumers func() int) {
		a := newAppender(t, l)
		d := newDispatcher(t, Default(), l)
		all := make([]*Subscription, subs)
		for i := range all {
			var err error
			if all[i], err = d.Subscribe(t.Context(), pch, vch(i), 0); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 300 {
			if i%10 == 9 {
				a.append(msg.KindTimeTick, "")
			} else {
				a.append(msg.KindSeal, vch(i*7%subs))
			}
		}
		a.append(msg.KindTimeTick, "")
		var wg sync.WaitGroup
		for i, s := range all {
			wg.Go(func() {
				got := consume(t, a, s, vch(i), a.last)
				if want := a.own(vch(i), 0); !equalIDs(got.own, want) {
					t.Errorf("%s: got %v, want %v", vch(i), got.own, want)
				}
			})
		}
		wg.Wait()
		if consumers != nil {
			if n := consumers(); n != 1 {
				t.Errorf("the log has %d consumers, want 1", n)
			}
		}
		for _, s := range all {
			s.Close()
		}
		waitNoReaders(t, d)
	}
	t.Run("nats", func(t *testing.T) {
		// Counted by the stream's consumers: the reader reads the stream
		// (NoTail), since one that takes the log's tail holds none once
		// it is at the end.
		e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir(), NoTail: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		run(t, e.Log(), func() int {
			info, err := e.Server().Jsz(&server.JSzOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return info.Consumers
		})
	})
	t.Run("kafka", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		l, err := logbroker.NewKafka(t.Context(), logbroker.KafkaConfig{Brokers: c.ListenAddrs(), TopicPrefix: fmt.Sprintf("d%d_", subs)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		run(t, l, nil)
	})
}
