package segment

import "sync/atomic"

// Process-wide counts of the segments reads pruned by their statistics
// (a filter on a clustering key skips every segment whose key range it
// cannot match) and of those they had to evaluate the filter on.
var prunedReads, scannedReads atomic.Int64

// PruneCounts returns how many segment reads were pruned and how many
// were evaluated since the process started.
func PruneCounts() (pruned, scanned int64) { return prunedReads.Load(), scannedReads.Load() }
