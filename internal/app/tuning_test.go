package app

import (
	"testing"
	"time"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/retention"
)

// TestTuningFromConfig: the segment bounds, the model services' timing and
// the log retention's keys reach the components (the same functions build
// them for standalone and for a cluster's roles), and their defaults are
// what the components used before the keys existed.
func TestTuningFromConfig(t *testing.T) {
	def, _, err := config.Load(config.Options{Mode: config.Standalone})
	if err != nil {
		t.Fatal(err)
	}
	d := dataFromConfig(def)
	if dd := datacoord.Default(); d.MaxSegmentBytes != dd.MaxSegmentBytes || d.MaxSegmentRows != dd.MaxSegmentRows {
		t.Fatalf("default segment bounds %d bytes, %d rows; the data coordinator's %d, %d", d.MaxSegmentBytes, d.MaxSegmentRows, dd.MaxSegmentBytes, dd.MaxSegmentRows)
	}
	if r := retentionFromConfig(def); r != retention.Default() {
		t.Fatalf("default retention %+v, want %+v", r, retention.Default())
	}
	if m := modelsFromConfig(def); m.Timeout != 30*time.Second || m.Retries != 3 || m.Backoff != time.Second {
		t.Fatalf("default model timing %v, %d retries, %v backoff", m.Timeout, m.Retries, m.Backoff)
	}

	var env []string
	for k, v := range map[string]string{"dataCoord.segment.maxSize": "0.125", "milvago.dataCoord.segment.maxRows": "300",
		"milvago.function.requestTimeout": "200", "milvago.function.maxRetries": "2", "milvago.function.retryBackoff": "50",
		"milvago.logRetention.interval": "100", "milvago.logRetention.window": "0"} {
		env = append(env, config.EnvName(k)+"="+v)
	}
	c, _, err := config.Load(config.Options{Mode: config.Standalone, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if d := dataFromConfig(c); d.MaxSegmentBytes != 128<<10 || d.MaxSegmentRows != 300 {
		t.Fatalf("segment bounds %d bytes, %d rows; want 128 KiB, 300", d.MaxSegmentBytes, d.MaxSegmentRows)
	}
	if r := retentionFromConfig(c); r != (retention.Config{Interval: 100 * time.Millisecond}) {
		t.Fatalf("retention %+v", r)
	}
	if s := StandaloneFromConfig(c); s.Retention != retentionFromConfig(c) || s.Data.MaxSegmentRows != 300 {
		t.Fatalf("standalone: retention %+v, %d rows", s.Retention, s.Data.MaxSegmentRows)
	}
	if m := modelsFromConfig(c); m.Timeout != 200*time.Millisecond || m.Retries != 2 || m.Backoff != 50*time.Millisecond {
		t.Fatalf("model timing %v, %d retries, %v backoff", m.Timeout, m.Retries, m.Backoff)
	}
}
