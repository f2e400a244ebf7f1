package logbroker_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/testservers"
)

// BenchmarkFencedAppend compares one appender's latency with and without
// the log fence (docs/log-fencing.md): plain Append against a
// logbroker.Producer, whose appends carry the subject's expected last
// sequence. Against real nats-server processes (MILVAGO_NATS_BIN): one
// server (R1) and a 3-node cluster (R3), as cluster mode runs.
//
//	MILVAGO_NATS_BIN=... go test -run='^$' -bench=FencedAppend -benchtime=3000x ./internal/logbroker/
func BenchmarkFencedAppend(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		c := testservers.StartNATS(b, nodes)
		for _, size := range []int{1 << 10, 64 << 10} {
			for _, fenced := range []bool{false, true} {
				name := fmt.Sprintf("R%d/%s/plain", nodes, sizeName(size))
				if fenced {
					name = fmt.Sprintf("R%d/%s/fenced", nodes, sizeName(size))
				}
				b.Run(name, func(b *testing.B) {
					l, err := logbroker.NewNATS(b.Context(), logbroker.NATSConfig{URL: c.URL(),
						StreamPrefix: fmt.Sprintf("B%d", time.Now().UnixNano()), Replicas: nodes}, nil)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { l.Close() })
					appendOne := l.Append
					if fenced {
						p, err := l.Producer(b.Context(), "dml_0", 1)
						if err != nil {
							b.Fatal(err)
						}
						appendOne = func(ctx context.Context, _ string, payload []byte, props map[string]string) (logbroker.MessageID, error) {
							return p.Append(ctx, payload, props)
						}
					}
					payload := make([]byte, size)
					props := map[string]string{"msgType": "Insert"}
					var lat []time.Duration
					b.SetBytes(int64(size))
					start := time.Now()
					for b.Loop() {
						t0 := time.Now()
						id, err := appendOne(b.Context(), "dml_0", payload, props)
						if err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
						truncateEvery(b, l, len(lat), id)
					}
					elapsed := time.Since(start)
					slices.Sort(lat)
					b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
				})
			}
		}
	}
}

// BenchmarkKafkaFencedAppend is BenchmarkFencedAppend on Kafka: against a
// kfake process (testservers.StartKafka, 1 and 3 brokers, topics replicated
// on all), plain Append (what the writer did on Kafka before the fence)
// against a Producer's. "fenced-gap" makes every fenced append land after
// another process's record (timed: the fenced append only), so each one
// reads back the fence state: the cost when the producer is raced.
// "open" times Producer itself (it reads the state at the end).
//
//	go test -run='^$' -bench=KafkaFencedAppend -benchtime=2000x ./internal/logbroker/
func BenchmarkKafkaFencedAppend(b *testing.B) {
	for _, brokers := range []int{1, 3} {
		k := testservers.StartKafka(b, brokers)
		open := func(b *testing.B) *logbroker.Kafka {
			l, err := logbroker.NewKafka(b.Context(), logbroker.KafkaConfig{Brokers: k.Brokers,
				TopicPrefix: fmt.Sprintf("b%d-", time.Now().UnixNano()), ReplicationFactor: brokers}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { l.Close() })
			return l
		}
		for _, size := range []int{1 << 10, 64 << 10} {
			for _, mode := range []string{"plain", "fenced", "fenced-gap"} {
				b.Run(fmt.Sprintf("R%d/%s/%s", brokers, sizeName(size), mode), func(b *testing.B) {
					l := open(b)
					appendOne := l.Append
					if mode != "plain" {
						p, err := l.Producer(b.Context(), "dml_0", 1)
						if err != nil {
							b.Fatal(err)
						}
						appendOne = func(ctx context.Context, _ string, payload []byte, props map[string]string) (logbroker.MessageID, error) {
							return p.Append(ctx, payload, props)
						}
					}
					payload := make([]byte, size)
					props := map[string]string{"msgType": "Insert"}
					var lat []time.Duration
					b.SetBytes(int64(size))
					start := time.Now()
					var busy time.Duration
					for b.Loop() {
						if mode == "fenced-gap" {
							b.StopTimer()
							t0 := time.Now()
							if _, err := l.Append(b.Context(), "dml_0", []byte("other"), nil); err != nil {
								b.Fatal(err)
							}
							busy += time.Since(t0)
							b.StartTimer()
						}
						t0 := time.Now()
						id, err := appendOne(b.Context(), "dml_0", payload, props)
						if err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
						truncateEvery(b, l, len(lat), id)
					}
					elapsed := time.Since(start) - busy
					slices.Sort(lat)
					b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
				})
			}
		}
		b.Run(fmt.Sprintf("R%d/open", brokers), func(b *testing.B) {
			l := open(b)
			for i := range 100 {
				if _, err := l.Append(b.Context(), "dml_0", []byte(strconv.Itoa(i)), nil); err != nil {
					b.Fatal(err)
				}
			}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				p, err := l.Producer(b.Context(), "dml_0", 1)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if _, err := p.Append(b.Context(), []byte("x"), nil); err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
		})
	}
}

// BenchmarkKafkaFencedAppendAlternating alternates a plain and a fenced
// append (two channels of one log) at every iteration, so that both see
// the same load on a shared machine: the fairest before/after comparison.
//
//	go test -run='^$' -bench=KafkaFencedAppendAlternating -benchtime=3000x ./internal/logbroker/
func BenchmarkKafkaFencedAppendAlternating(b *testing.B) {
	for _, brokers := range []int{1, 3} {
		k := testservers.StartKafka(b, brokers)
		for _, size := range []int{1 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("R%d/%s", brokers, sizeName(size)), func(b *testing.B) {
				l, err := logbroker.NewKafka(b.Context(), logbroker.KafkaConfig{Brokers: k.Brokers,
					TopicPrefix: fmt.Sprintf("a%d-", time.Now().UnixNano()), ReplicationFactor: brokers}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { l.Close() })
				p, err := l.Producer(b.Context(), "dml_1", 1)
				if err != nil {
					b.Fatal(err)
				}
				payload := make([]byte, size)
				props := map[string]string{"msgType": "Insert"}
				var plain, fenced []time.Duration
				for b.Loop() {
					t0 := time.Now()
					if _, err := l.Append(b.Context(), "dml_0", payload, props); err != nil {
						b.Fatal(err)
					}
					plain = append(plain, time.Since(t0))
					prev := p.Last()
					t0 = time.Now()
					id, err := p.Append(b.Context(), payload, props)
					if err != nil {
						b.Fatal(err)
					}
					fenced = append(fenced, time.Since(t0))
					if id != prev+1 {
						b.Fatalf("fenced append landed at %d after %d: raced by nothing", id, prev)
					}
				}
				slices.Sort(plain)
				slices.Sort(fenced)
				b.ReportMetric(float64(plain[len(plain)/2].Microseconds()), "plain-p50-us")
				b.ReportMetric(float64(plain[len(plain)*99/100].Microseconds()), "plain-p99-us")
				b.ReportMetric(float64(fenced[len(fenced)/2].Microseconds()), "fenced-p50-us")
				b.ReportMetric(float64(fenced[len(fenced)*99/100].Microseconds()), "fenced-p99-us")
			})
		}
	}
}
