package logbroker

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestTransientFullStore: JetStream answers a full store with code 503,
// as it answers a cluster without a leader; only the latter is retried,
// so that a write to a full log fails at once with ErrFull instead of
// retrying until its deadline (a fenced append retries transient errors).
func TestTransientFullStore(t *testing.T) {
	full := fmt.Errorf("publish: %w", &jetstream.APIError{Code: 503, ErrorCode: errCodeInsufficientResources, Description: "insufficient resources"})
	if transient(full) {
		t.Error("a full store (503, 10023) taken for a transient error")
	}
	if !isStoreFull(full) {
		t.Error("503 with 10023 not seen as a full store")
	}
	noLeader := &jetstream.APIError{Code: 503, Description: "JetStream system temporarily unavailable"}
	if !transient(noLeader) {
		t.Error("503 without a leader not taken for a transient error")
	}
}
