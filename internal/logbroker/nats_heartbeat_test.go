package logbroker

import (
	"testing"
	"time"
)

// TestReaderHeartbeatCoversBigMessages: two heartbeats cover moving one
// maximal message at readerSlowRate, so a reader is not reset while a big
// message is on its way; NATS's default max_payload keeps the 1 s that a
// cluster's lost first pull needs.
func TestReaderHeartbeatCoversBigMessages(t *testing.T) {
	for _, tc := range []struct {
		maxPayload int
		want       time.Duration
	}{
		{1 << 20, readerHeartbeat}, // NATS's default
		{8 << 20, 4 * time.Second}, // the embedded server's
		{64 << 20, readerMaxHeartbeat},
	} {
		if got := readerHeartbeatFor(tc.maxPayload); got != tc.want {
			t.Errorf("max_payload %d: heartbeat %v, want %v", tc.maxPayload, got, tc.want)
		}
		if got := readerHeartbeatFor(tc.maxPayload); 2*got < min(time.Duration(float64(tc.maxPayload)/readerSlowRate*float64(time.Second)), 2*readerMaxHeartbeat) {
			t.Errorf("max_payload %d: two heartbeats (%v) do not cover one message at %d B/s", tc.maxPayload, 2*got, readerSlowRate)
		}
	}
}
