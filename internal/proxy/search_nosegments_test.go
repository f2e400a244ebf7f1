package proxy

import (
	"context"
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

type loadedQuery struct {
	queryCoord
	st contract.LoadState
}

func (q loadedQuery) State(context.Context, int64) (contract.LoadState, error) { return q.st, nil }

type segData struct {
	dataCoord
	segs []model.Segment
}

func (d segData) Segments(context.Context, int64, string) ([]model.Segment, error) {
	return d.segs, nil
}

// TestSearchWithoutSegments: query vectors segcore would refuse fail only
// when a segment would be searched; a loaded collection without segments
// answers with no hits, an unloaded one with "collection not loaded".
func TestSearchWithoutSegments(t *testing.T) {
	c := &model.Collection{ID: 1, Name: "c", Schema: testSchema("c")}
	bad := &segcoreQueryError{errPlain("vector dimension mismatch, expected vector size(byte) 16, actual 12.")}
	ctx := context.Background()
	srv := func(st contract.LoadState, segs ...model.Segment) *Server {
		return &Server{d: Deps{Query: loadedQuery{st: st}, Data: segData{segs: segs}}}
	}

	res, err := srv(contract.LoadState{Loaded: true}).searchWithoutSegments(ctx, c, nil, 2, bad)
	if err != nil || res.GetResults().GetNumQueries() != 2 || len(res.GetResults().GetTopks()) != 2 || res.GetResults().GetTopks()[0] != 0 {
		t.Fatalf("no segments: %v %v", res, err)
	}
	if _, err := srv(contract.LoadState{}).searchWithoutSegments(ctx, c, nil, 2, bad); !errors.Is(err, errs.ErrCollectionNotLoaded) {
		t.Fatalf("not loaded: %v", err)
	}
	if _, err := srv(contract.LoadState{Loaded: true}, model.Segment{ID: 7, PartitionID: 5}).searchWithoutSegments(ctx, c, nil, 2, bad); err != bad {
		t.Fatalf("with a segment: %v", err)
	}
	// Only partition 6 is loaded; partition 5's segment is not searched.
	if _, err := srv(contract.LoadState{Loaded: true, Partitions: []int64{6}}, model.Segment{ID: 7, PartitionID: 5}).searchWithoutSegments(ctx, c, nil, 1, bad); err != nil {
		t.Fatalf("segment of an unsearched partition: %v", err)
	}
}
