package querynode

// DropSegmentIDs removes the given segments from a loaded collection's
// shards (a truncated collection's flushed segments). A handoff of one of
// them still in flight is refused when it completes.
func (s *Server) DropSegmentIDs(collectionID int64, ids []int64) {
	s.mu.Lock()
	c, ok := s.collections[collectionID]
	s.mu.Unlock()
	if !ok {
		return
	}
	for _, dl := range c.shards {
		dl.dropSegments(ids)
	}
}

func (dl *delegator) dropSegments(ids []int64) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if dl.dropped == nil {
		dl.dropped = map[int64]bool{}
	}
	for _, id := range ids {
		dl.dropped[id] = true
		if s, ok := dl.sealed[id]; ok {
			s.close()
			delete(dl.sealed, id)
		}
		delete(dl.growing, id)
	}
}

// replaceLocked marks the sources of a compacted segment dropped and takes
// them out of the shard; the caller closes what it returns after
// unlocking mu.
func (dl *delegator) replaceLocked(ids []int64) []*sealedSegment {
	if len(ids) == 0 {
		return nil
	}
	if dl.dropped == nil {
		dl.dropped = map[int64]bool{}
	}
	var out []*sealedSegment
	for _, id := range ids {
		dl.dropped[id] = true
		if s, ok := dl.sealed[id]; ok {
			out = append(out, s)
			delete(dl.sealed, id)
		}
		delete(dl.growing, id)
	}
	return out
}
