package logbroker_test

import (
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
)

// BenchmarkNATSRead reads a channel of 2,000 messages of 1 KiB from the
// embedded server, each after a message of another channel (so that
// every ID is a gap, as on a stream shared by many channels), written
// through a fenced producer (the data path) or plain Append. One op is
// one reader from the start to the last message; msgs/s is the reader's
// throughput.
func BenchmarkNATSRead(b *testing.B) {
	const n = 2000
	for _, fenced := range []bool{true, false} {
		name := "plain"
		if fenced {
			name = "fenced"
		}
		b.Run(name, func(b *testing.B) {
			e, err := logbroker.StartEmbedded(b.Context(), logbroker.EmbedConfig{Dir: b.TempDir()}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			l := e.Log()
			ctx := b.Context()
			var p logbroker.Producer
			if fenced {
				if p, err = l.Producer(ctx, "ch", 1); err != nil {
					b.Fatal(err)
				}
			}
			payload := make([]byte, 1<<10)
			var last logbroker.MessageID
			for range n {
				if _, err := l.Append(ctx, "other", payload, nil); err != nil {
					b.Fatal(err)
				}
				if p != nil {
					last, err = p.Append(ctx, payload, nil)
				} else {
					last, err = l.Append(ctx, "ch", payload, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				r, err := l.Read(ctx, "ch", 0)
				if err != nil {
					b.Fatal(err)
				}
				for {
					m, err := r.Next(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if m.ID == last {
						break
					}
				}
				r.Close()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
