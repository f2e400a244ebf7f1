package logbroker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/milvago/milvago/internal/testservers"
)

// The Kafka log fence (kafka_fence.go) beyond the conformance cases:
// readers that start from a checkpoint, lost replies, and racing writers.

func fenceCluster(t *testing.T) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// fenceBrokers returns the brokers of a Kafka to test on: kfake in this
// process (1 broker), or kfake as a separate process with 3 brokers (the
// topics then replicated 3 times), reached over TCP as cluster mode does.
func fenceBrokers(t *testing.T, kind string) []string {
	t.Helper()
	if kind == "process" {
		k := testservers.StartKafka(t, 3)
		return k.Brokers
	}
	_, brokers := fenceCluster(t)
	return brokers
}

// onBothKafkas runs f against both of fenceBrokers' kinds.
func onBothKafkas(t *testing.T, f func(t *testing.T, brokers []string)) {
	for _, kind := range []string{"inprocess", "process"} {
		t.Run(kind, func(t *testing.T) { f(t, fenceBrokers(t, kind)) })
	}
}

// fenceKafka opens a Log value on the cluster: each stands for a process.
func fenceKafka(t *testing.T, brokers []string) *Kafka {
	t.Helper()
	rf := 0
	if len(brokers) >= 3 {
		rf = 3
	}
	k, err := NewKafka(t.Context(), KafkaConfig{Brokers: brokers, TopicPrefix: "f-", ReplicationFactor: rf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func fctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seen is a message as a reader returned it.
type seen struct {
	id   MessageID
	data string
}

// readToEnd reads ch after `after` up to the message "end" (appended
// plain, last, by the test): what a reader returns.
func readToEnd(t *testing.T, l Log, ch string, after MessageID) []seen {
	t.Helper()
	ctx := fctx(t)
	r, err := l.Read(ctx, ch, after)
	if err != nil {
		t.Fatalf("read %s after %d: %v", ch, after, err)
	}
	defer r.Close()
	var out []seen
	for {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("read %s after %d: %v (so far %v)", ch, after, err, out)
		}
		if string(m.Payload) == "end" {
			return out
		}
		out = append(out, seen{m.ID, string(m.Payload)})
	}
}

func fproduce(t *testing.T, p Producer, data string) MessageID {
	t.Helper()
	id, err := p.Append(fctx(t), []byte(data), nil)
	if err != nil {
		t.Fatalf("append %q: %v", data, err)
	}
	return id
}

func fopen(t *testing.T, l *Kafka, ch string, epoch int64) Producer {
	t.Helper()
	p, err := l.Producer(fctx(t), ch, epoch)
	if err != nil {
		t.Fatalf("producer at epoch %d: %v", epoch, err)
	}
	return p
}

func datas(s []seen) string {
	out := make([]string, len(s))
	for i, m := range s {
		out[i] = m.data
	}
	return fmt.Sprint(out)
}

// TestKafkaFenceFromCheckpoints: a deposed writer's record that lands
// after the next writer's records is skipped by every reader, whichever
// position it starts from (in particular from checkpoints between the
// next writer's first record and the stale one), in any process, and
// after the channel is truncated up to there.
func TestKafkaFenceFromCheckpoints(t *testing.T) {
	onBothKafkas(t, func(t *testing.T, brokers []string) {
		l := fenceKafka(t, brokers)
		old := fopen(t, l, "ch", 1)
		a := fproduce(t, old, "a")
		next := fopen(t, l, "ch", 2)
		x := fproduce(t, next, "x")
		y := fproduce(t, next, "y")
		if _, err := old.Append(fctx(t), []byte("stale"), nil); !errors.Is(err, ErrFenced) {
			t.Fatalf("deposed writer's append: %v, want ErrFenced", err)
		}
		stale, err := l.Latest(fctx(t), "ch")
		if err != nil || stale != y+1 {
			t.Fatalf("latest after the stale append: %d, %v; want %d (it is stored)", stale, err, y+1)
		}
		// The last message readers return is y, found at once (a reader
		// after y would wait for the next append), by this process and
		// another; up to an earlier ID, the last one readers return there.
		for _, lm := range []*Kafka{l, fenceKafka(t, brokers)} {
			for _, c := range []struct {
				upTo MessageID
				want seen
			}{{stale, seen{y, "y"}}, {stale + 5, seen{y, "y"}}, {y, seen{y, "y"}}, {x, seen{x, "x"}}, {a, seen{a, "a"}}} {
				m, found, err := lm.LastMessage(fctx(t), "ch", c.upTo)
				if err != nil || !found || (seen{m.ID, string(m.Payload)}) != c.want || m.Properties[kafkaFenceHeader] != "" {
					t.Fatalf("last message up to %d: %d %q %v, found %v, %v; want %v without fence headers", c.upTo, m.ID, m.Payload, m.Properties, found, err, c.want)
				}
			}
			if _, found, err := lm.LastMessage(fctx(t), "ch", 0); found || err != nil {
				t.Fatalf("last message up to 0: found %v, %v; want none", found, err)
			}
		}
		z := fproduce(t, next, "z")
		if _, err := l.Append(fctx(t), "ch", []byte("end"), nil); err != nil {
			t.Fatal(err)
		}
		all := []seen{{a, "a"}, {x, "x"}, {y, "y"}, {z, "z"}}
		suffix := func(after MessageID) []seen {
			i := slices.IndexFunc(all, func(m seen) bool { return m.id > after })
			if i < 0 {
				return nil
			}
			return all[i:]
		}
		for _, after := range []MessageID{0, a, x, y, stale, z} {
			// A fresh value: a reader in another process, knowing nothing
			// but its checkpoint.
			other := fenceKafka(t, brokers)
			if got, want := readToEnd(t, other, "ch", after), suffix(after); !slices.Equal(got, want) {
				t.Fatalf("reader after %d: %v, want %v", after, got, want)
			}
		}
		// Truncated up to the checkpoints: the state a reader needs stays.
		for _, upTo := range []MessageID{y, stale} {
			if err := l.Truncate(fctx(t), "ch", upTo); err != nil {
				t.Fatal(err)
			}
			for _, after := range []MessageID{upTo, stale} {
				other := fenceKafka(t, brokers)
				if got, want := readToEnd(t, other, "ch", after), suffix(after); !slices.Equal(got, want) {
					t.Fatalf("truncated up to %d: reader after %d: %v, want %v", upTo, after, got, want)
				}
			}
			if _, err := fenceKafka(t, brokers).Producer(fctx(t), "ch", 1); !errors.Is(err, ErrFenced) {
				t.Fatalf("open at epoch 1 in another process, truncated up to %d: %v, want ErrFenced", upTo, err)
			}
			if got := readToEnd(t, l, "ch", 0); !slices.Equal(got, suffix(upTo)) {
				t.Fatalf("truncated up to %d: the truncating value reads %v from the start, want %v", upTo, got, suffix(upTo))
			}
		}
	})
}

// TestKafkaFencePausedBeforeFirstAppend: a writer paused between taking
// the channel (opening its producer) and its first append, while the next
// writer took over and appended, is fenced by that first append, and
// readers skip it; one that opens after the next writer appended is
// refused at once.
func TestKafkaFencePausedBeforeFirstAppend(t *testing.T) {
	onBothKafkas(t, func(t *testing.T, brokers []string) {
		l1, l2 := fenceKafka(t, brokers), fenceKafka(t, brokers)
		if _, err := l1.Append(fctx(t), "ch", []byte("p"), nil); err != nil {
			t.Fatal(err)
		}
		old := fopen(t, l1, "ch", 1) // then paused
		next := fopen(t, l2, "ch", 2)
		fproduce(t, next, "x")
		if _, err := old.Append(fctx(t), []byte("stale"), nil); !errors.Is(err, ErrFenced) {
			t.Fatalf("first append of a writer paused since it opened: %v, want ErrFenced", err)
		}
		if _, err := l1.Producer(fctx(t), "ch", 1); !errors.Is(err, ErrFenced) {
			t.Fatalf("open at epoch 1 after epoch 2 appended: %v, want ErrFenced", err)
		}
		fproduce(t, next, "y")
		if _, err := l1.Append(fctx(t), "ch", []byte("end"), nil); err != nil {
			t.Fatal(err)
		}
		for _, l := range []Log{l1, l2, fenceKafka(t, brokers)} {
			if got := datas(readToEnd(t, l, "ch", 0)); got != "[p x y]" {
				t.Fatalf("log reads %s, want [p x y]", got)
			}
		}
	})
}

// TestKafkaFenceLostReply: the broker stores a fenced append and its
// reply is lost (the connection drops): the client's idempotent retry is
// answered with the stored record's offset, so the append succeeds once,
// stored once. An append whose outcome stayed unknown to the producer is
// kept, before the next one.
func TestKafkaFenceLostReply(t *testing.T) {
	c, brokers := fenceCluster(t)
	l := fenceKafka(t, brokers)
	p := fopen(t, l, "ch", 1)
	fproduce(t, p, "a")

	side, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer side.Close()
	var sideSending atomic.Bool
	var lost atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if sideSending.Load() {
			return nil, nil, false // the side copy: stored as usual
		}
		c.KeepControl()
		if lost.Load() > 0 {
			return nil, nil, false
		}
		lost.Add(1)
		// Store the request (from another connection), then drop the
		// producer's connection before it gets the reply.
		node := c.CurrentNode()
		done := make(chan error, 1)
		sideSending.Store(true)
		go func() {
			_, err := side.Broker(int(node)).Request(context.Background(), req)
			done <- err
		}()
		var sideErr error
		c.SleepControl(func() { sideErr = <-done })
		sideSending.Store(false)
		if sideErr != nil {
			t.Errorf("side copy of the produce: %v", sideErr)
		}
		return nil, errors.New("reply lost"), true
	})
	b, err := p.Append(fctx(t), []byte("b"), nil)
	if err != nil {
		t.Fatalf("append whose reply was lost: %v", err)
	}
	if lost.Load() != 1 {
		t.Fatalf("%d replies lost, want 1", lost.Load())
	}
	if latest, _ := l.Latest(fctx(t), "ch"); latest != b {
		t.Fatalf("append returned %d, the last record is %d (stored twice?)", b, latest)
	}

	// An append whose outcome the producer never learnt (its context
	// ended while the record was on its way): sent as Append sends it,
	// and the producer's position left where it was.
	kp := p.(*kafkaProducer)
	kp.n++
	tag := fenceTag{epoch: kp.epoch, nonce: kp.nonce, n: kp.n}
	if _, err := l.appendRecord(fctx(t), "ch", kp.topic, []byte("c"), nil, []kgo.RecordHeader{
		{Key: kafkaFenceHeader, Value: []byte(tag.String())},
		{Key: kafkaPrevHeader, Value: fmt.Appendf(nil, "%d", kp.last)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(fctx(t), []byte("d"), nil); err != nil {
		t.Fatalf("append after one of unknown outcome: %v", err)
	}
	// A newer producer still fences this one.
	p2 := fopen(t, fenceKafka(t, brokers), "ch", 2)
	fproduce(t, p2, "e")
	if _, err := p.Append(fctx(t), []byte("f"), nil); !errors.Is(err, ErrFenced) {
		t.Fatalf("old producer after a newer one appended: %v, want ErrFenced", err)
	}
	if _, err := l.Append(fctx(t), "ch", []byte("end"), nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Log{l, fenceKafka(t, brokers)} {
		if got := datas(readToEnd(t, r, "ch", 0)); got != "[a b c d e]" {
			t.Fatalf("log reads %s, want [a b c d e]", got)
		}
	}
}

// TestKafkaFenceRacingWriters: writers of several epochs (two per epoch)
// append at once from their own processes. Whatever interleaving Kafka
// makes, the messages every reader returns are exactly the appends that
// succeeded, in one order with non-decreasing epochs, from any start.
func TestKafkaFenceRacingWriters(t *testing.T) {
	onBothKafkas(t, func(t *testing.T, brokers []string) {
		type acked struct {
			id    MessageID
			epoch int64
		}
		for round := range 3 {
			ch := fmt.Sprintf("race%d", round)
			var (
				mu    sync.Mutex
				ok    = map[string]acked{}
				wg    sync.WaitGroup
				start = make(chan struct{})
			)
			for w, epoch := range []int64{1, 1, 2, 2, 3, 3} {
				l := fenceKafka(t, brokers)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					// Writers of higher epochs open a little later, as after
					// a hand-over; some open before the older ones append.
					time.Sleep(time.Duration(rand.IntN(int(epoch)*3)) * time.Millisecond)
					p, err := l.Producer(t.Context(), ch, epoch)
					if errors.Is(err, ErrFenced) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					for i := range 15 {
						data := fmt.Sprintf("w%d-%d", w, i)
						id, err := p.Append(t.Context(), []byte(data), nil)
						if errors.Is(err, ErrFenced) {
							return
						}
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						ok[data] = acked{id, epoch}
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if t.Failed() {
				return
			}
			l := fenceKafka(t, brokers)
			if _, err := l.Append(fctx(t), ch, []byte("end"), nil); err != nil {
				t.Fatal(err)
			}
			got := readToEnd(t, l, ch, 0)
			if len(got) != len(ok) {
				t.Fatalf("round %d: readers return %d messages, %d appends succeeded", round, len(got), len(ok))
			}
			var last int64
			for _, m := range got {
				a, found := ok[m.data]
				if !found || a.id != m.id {
					t.Fatalf("round %d: reader returns %q at %d, its append: %v found %v", round, m.data, m.id, a, found)
				}
				if a.epoch < last {
					t.Fatalf("round %d: %q of epoch %d after epoch %d", round, m.data, a.epoch, last)
				}
				last = a.epoch
			}
			latest, err := l.Latest(fctx(t), ch)
			if err != nil {
				t.Fatal(err)
			}
			// From a few positions, in fresh processes.
			for range 5 {
				after := MessageID(rand.IntN(int(latest)))
				i := slices.IndexFunc(got, func(m seen) bool { return m.id > after })
				want := []seen(nil)
				if i >= 0 {
					want = got[i:]
				}
				if r := readToEnd(t, fenceKafka(t, brokers), ch, after); !slices.Equal(r, want) {
					t.Fatalf("round %d: reader after %d: %v, want %v", round, after, datas(r), datas(want))
				}
			}
			t.Logf("round %d: %d records, %d accepted", round, latest-1, len(got))
		}
	})
}
