package proxy

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/pkg/v2/proto/internalpb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// GetSegmentsInfo is Milvus 2.6's proxy GetSegmentsInfo (served over REST
// as segments/describe): the data coordinator's metadata of each segment
// of req.SegmentIDs, in request order, with the log IDs of its insert and
// stats logs per field. As in Milvus, a segment that does not exist fails
// the whole request with "segment not found[segment=ID]".
//
// Milvus ignores req.CollectionID (segment IDs are global); Milvago's data
// coordinator lists segments per collection, so a non-zero CollectionID
// narrows the lookup to that collection and 0 looks in every collection.
// Deletes live in per-channel L0 delta logs in Milvago, so DeltaLogs is
// empty and every segment is L1; dropped segments are not found.
func (s *Server) GetSegmentsInfo(ctx context.Context, req *internalpb.GetSegmentsInfoRequest) (*internalpb.GetSegmentsInfoResponse, error) {
	want := req.GetSegmentIDs()
	found := map[int64]model.Segment{}
	if len(want) > 0 {
		var colls []int64
		if id := req.GetCollectionID(); id != 0 {
			colls = []int64{id}
		} else {
			ids, err := s.allCollectionIDs(ctx)
			if err != nil {
				return nil, err
			}
			colls = ids
		}
		for _, c := range colls {
			segs, err := s.d.Data.Segments(ctx, c, "")
			if err != nil {
				return nil, fmt.Errorf("segments of collection %d: %w", c, err)
			}
			for _, seg := range segs {
				if slices.Contains(want, seg.ID) {
					found[seg.ID] = seg
				}
			}
		}
	}
	out := make([]*internalpb.SegmentInfo, 0, len(want))
	for _, id := range want {
		seg, ok := found[id]
		if !ok {
			return nil, errs.SegmentNotFound(id)
		}
		info := &internalpb.SegmentInfo{SegmentID: seg.ID, CollectionID: seg.CollectionID, PartitionID: seg.PartitionID,
			VChannel: seg.VChannel, NumRows: seg.NumRows, State: segmentStatePB(seg.State), Level: commonpb.SegmentLevel_L1,
			IsSorted: seg.Sorted, InsertLogs: []*internalpb.FieldBinlog{}, DeltaLogs: []*internalpb.FieldBinlog{},
			StatsLogs: []*internalpb.FieldBinlog{}}
		fields := make([]int64, 0, len(seg.Binlogs))
		for f := range seg.Binlogs {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			info.InsertLogs = append(info.InsertLogs, &internalpb.FieldBinlog{FieldID: f, LogIDs: logIDOf(seg.Binlogs[f])})
		}
		if seg.StatsLog != "" {
			// stats_log/{collection}/{partition}/{segment}/{field}/{logID}
			field, _ := strconv.ParseInt(path.Base(path.Dir(seg.StatsLog)), 10, 64)
			info.StatsLogs = append(info.StatsLogs, &internalpb.FieldBinlog{FieldID: field, LogIDs: logIDOf(seg.StatsLog)})
		}
		out = append(out, info)
	}
	return &internalpb.GetSegmentsInfoResponse{Status: &commonpb.Status{}, SegmentInfos: out}, nil
}

// allCollectionIDs lists the IDs of every database's collections.
func (s *Server) allCollectionIDs(ctx context.Context) ([]int64, error) {
	dbs, err := s.d.Root.ListDatabases(ctx)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	var ids []int64
	for _, db := range dbs {
		colls, err := s.d.Root.ListCollections(ctx, db.Name)
		if err != nil {
			return nil, fmt.Errorf("list collections of %s: %w", db.Name, err)
		}
		for _, c := range colls {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// logIDOf is the log ID a binlog path ends in ({...}/{logID}); none when
// the path does not end in one.
func logIDOf(p string) []int64 {
	id, err := strconv.ParseInt(path.Base(p), 10, 64)
	if err != nil {
		return []int64{}
	}
	return []int64{id}
}

// segmentStatePB is a segment state as Milvus's commonpb.SegmentState.
func segmentStatePB(st model.SegmentState) commonpb.SegmentState {
	switch st {
	case model.SegmentGrowing:
		return commonpb.SegmentState_Growing
	case model.SegmentSealed:
		return commonpb.SegmentState_Sealed
	case model.SegmentFlushed:
		return commonpb.SegmentState_Flushed
	case model.SegmentDropped:
		return commonpb.SegmentState_Dropped
	}
	return commonpb.SegmentState_SegmentStateNone
}
