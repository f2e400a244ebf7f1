package errs

import (
	"fmt"
	"time"
)

// ErrChannelTSafeStalled is merr.ErrChannelTSafeStalled: a read's
// guarantee timestamp is too far ahead of the shard's service time.
var ErrChannelTSafeStalled = def(505, "channel tsafe stalled", true)

// TsLagTooLarge is Milvus's delegator.WrapErrTsLagTooLarge:
// "lag(<lag>) max(<max>): channel tsafe stalled[channel=<vchannel>]".
func TsLagTooLarge(vchannel string, lag, maxLag time.Duration) error {
	return fmt.Errorf("lag(%s) max(%s): %w", lag, maxLag, with(ErrChannelTSafeStalled, "channel", vchannel, nil))
}
