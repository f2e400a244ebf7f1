package querynode

import "slices"

// GrowingBytes is the memory of the node's growing segments, as Milvus's
// query node reports GrowingSegmentsSize in its quota metrics (the quota
// center's growingSegmentsSizeProtection reads it), and the collections
// the node serves (its metrics' Effect.CollectionIDs), ascending.
func (s *Server) GrowingBytes() (bytes int64, collections []int64) {
	s.mu.Lock()
	shards := make([]*delegator, 0, len(s.collections))
	for id, c := range s.collections {
		collections = append(collections, id)
		for _, dl := range c.shards {
			shards = append(shards, dl)
		}
	}
	s.mu.Unlock()
	slices.Sort(collections)
	for _, dl := range shards {
		bytes += dl.growingBytes()
	}
	return bytes, collections
}

// growingBytes is the memory of the shard's growing segments.
func (dl *delegator) growingBytes() int64 {
	dl.mu.RLock()
	defer dl.mu.RUnlock()
	var n int64
	for _, g := range dl.growing {
		n += g.MemoryBytes()
	}
	return n
}
