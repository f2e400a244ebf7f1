package querynode

import (
	"context"

	"github.com/milvago/milvago/internal/model"
)

// Inserts into a dropped partition stay in the log until the data node's
// checkpoint passes them, so a shard loaded (or reloaded) after the drop
// replays them. As Milvus's pipeline filter node, the shard skips inserts
// into partitions the collection no longer has. A partition it does not
// know may also be newer than its definition: the current definition is
// fetched once to tell the two apart.

// partitionGone reports whether inserts into partition p are to be
// skipped. Caller holds mu.
func (dl *delegator) partitionGone(p int64) bool {
	if dl.droppedParts[p] {
		return true
	}
	if dl.knownParts[p] {
		return false
	}
	if hasPartition(partitionIDsOf(dl.coll()), p) || dl.d.Collections == nil {
		return false
	}
	c, err := dl.d.Collections.DescribeCollection(context.Background(), "", "", dl.coll().ID)
	if err != nil {
		// Keep the rows: a partition the shard cannot check may exist.
		dl.logger.Warn("check the partition of an insert", "partition", p, "err", err)
		return false
	}
	if hasPartition(partitionIDsOf(c), p) {
		if dl.knownParts == nil {
			dl.knownParts = map[int64]bool{}
		}
		dl.knownParts[p] = true
		return false
	}
	dl.markPartitionDroppedLocked(p)
	dl.logger.Info("skipping inserts into a dropped partition", "partition", p)
	return true
}

func (dl *delegator) markPartitionDroppedLocked(p int64) {
	if dl.droppedParts == nil {
		dl.droppedParts = map[int64]bool{}
	}
	dl.droppedParts[p] = true
	delete(dl.knownParts, p)
}

func partitionIDsOf(c *model.Collection) []int64 {
	out := make([]int64, len(c.Partitions))
	for i, p := range c.Partitions {
		out[i] = p.ID
	}
	return out
}

// hasPartition reports whether ps holds p.
func hasPartition(ps []int64, p int64) bool {
	for _, id := range ps {
		if id == p {
			return true
		}
	}
	return false
}
