package querycoord

import (
	"context"
	"errors"
	"fmt"
)

// IndexChanged hands every node serving a loaded collection its index
// definitions after one was created or dropped (the index coordinator
// calls it), as Milvus's query coordinator syncs the collection's index
// infos to its delegators: the nodes' growing segments start (or stop)
// their interim indexes. A node that cannot be reached is loaded again
// (its plans carry the definitions) when the pending loads are retried.
//
// The coordinator's lock is held throughout, as for a load, so a load
// planned before the change reaches its nodes before the change does.
func (s *Server) IndexChanged(ctx context.Context, collectionID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.loaded[collectionID]; !ok {
		return nil
	}
	defs, err := s.d.Indexes.Indexes(ctx, collectionID)
	if err != nil {
		return fmt.Errorf("querycoord: indexes of collection %d: %w", collectionID, err)
	}
	var errList []error
	for _, n := range s.nodesOfLocked(collectionID) {
		qn, err := s.d.Nodes.Node(ctx, n)
		if err == nil {
			err = qn.UpdateIndexes(ctx, collectionID, defs)
		}
		if err != nil {
			s.addPendingLocked(nodeLoad{n, collectionID})
			errList = append(errList, fmt.Errorf("querycoord: indexes of collection %d to query node %d: %w", collectionID, n, err))
		}
	}
	return errors.Join(errList...)
}
