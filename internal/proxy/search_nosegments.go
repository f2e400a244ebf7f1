package proxy

import (
	"context"
	"errors"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/model"
)

// segcoreQueryError is a query vector Milvus's proxy lets through and
// segcore refuses when it parses the placeholder group (Plan.cpp: "vector
// type must be the same", "vector dimension mismatch"). Segcore parses it
// only on a query node searching segments, so a search of a loaded
// collection without segments returns no hits instead.
type segcoreQueryError struct{ error }

func (e *segcoreQueryError) Unwrap() error { return e.error }

// searchWithoutSegments answers a search whose query vectors segcore would
// refuse: err when a segment would be searched (or the collection is not
// loaded), else no hits for each of the nq queries.
func (s *Server) searchWithoutSegments(ctx context.Context, c *model.Collection, partIDs []int64, nq int64, err error) (*milvuspb.SearchResults, error) {
	if lerr := s.requireLoaded(ctx, c, partIDs, readSearch); lerr != nil {
		return nil, lerr
	}
	searched := partIDs
	if len(searched) == 0 { // what is loaded
		st, serr := s.d.Query.State(ctx, c.ID)
		if serr != nil {
			return nil, serr
		}
		searched = st.Partitions
	}
	segs, serr := s.d.Data.Segments(ctx, c.ID, "")
	if serr != nil {
		return nil, serr
	}
	for _, seg := range segs {
		if searched == nil || slices.Contains(searched, seg.PartitionID) {
			return nil, err
		}
	}
	return &milvuspb.SearchResults{CollectionName: c.Name, Results: &schemapb.SearchResultData{
		NumQueries: nq, Ids: emptyIDs(c.Schema), Topks: make([]int64, nq),
	}}, nil
}

// asSegcoreQueryError reports whether err is a segcoreQueryError.
func asSegcoreQueryError(err error) bool {
	var qe *segcoreQueryError
	return errors.As(err, &qe)
}
