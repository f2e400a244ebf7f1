package logbroker_test

import (
	"context"
	"fmt"
	"slices"
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
