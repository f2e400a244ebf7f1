package logbroker

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaMapErr: only the record's size maps to a contract error; a
// broker's storage error (a full disk among other disk faults) is not
// taken for a full log, nor is a policy violation, and both say what they
// mean, also when they come as the last error of a record timeout.
func TestKafkaMapErr(t *testing.T) {
	k := &Kafka{}
	for _, c := range []struct {
		err     error
		want    error
		mention string
	}{
		{kerr.RecordListTooLarge, ErrTooLarge, "RECORD_LIST_TOO_LARGE"},
		{kerr.MessageTooLarge, ErrTooLarge, "MESSAGE_TOO_LARGE"},
		{kerr.KafkaStorageError, kerr.KafkaStorageError, "cannot write its log directory"},
		{fmt.Errorf("%w, last err: %w", kgo.ErrRecordTimeout, kerr.KafkaStorageError), kerr.KafkaStorageError, "full or failed disk"},
		{kerr.PolicyViolation, kerr.PolicyViolation, "configured policy refused"},
		{kgo.ErrClientClosed, ErrClosed, "client closed"},
	} {
		got := k.mapErr(c.err)
		if !errors.Is(got, c.want) || !strings.Contains(got.Error(), c.mention) {
			t.Errorf("%v: got %v, want %v mentioning %q", c.err, got, c.want, c.mention)
		}
		if errors.Is(got, ErrFull) {
			t.Errorf("%v: taken for a full log: %v", c.err, got)
		}
	}
}
