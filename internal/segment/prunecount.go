package segment

import "sync/atomic"

// Process-wide counts of the segments reads pruned by their statistics
// (a filter on a clustering key skips every segment whose key range it
// cannot match), of those whose statistics proved every row matches (no
// filter evaluated), and of those they had to evaluate the filter on.
var prunedReads, fullReads, scannedReads atomic.Int64

// PruneCounts returns how many segment reads were pruned and how many
// were evaluated since the process started.
func PruneCounts() (pruned, scanned int64) { return prunedReads.Load(), scannedReads.Load() }

// FullMatchCounts returns how many segment reads skipped evaluating the
// filter because their statistics proved every row matches.
func FullMatchCounts() int64 { return fullReads.Load() }
