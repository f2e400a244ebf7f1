package proxy

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/tso"
)

// Flush seals every growing segment of the collections and logs a Seal on
// each of their channels, even one with nothing growing; the data node
// writes the sealed segments and the channel's buffered deletes to the
// object store when it reads the Seal, then saves the channel's
// checkpoint there. Clients poll GetFlushState with the returned segment
// IDs and flush timestamp.
func (s *Server) Flush(ctx context.Context, req *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	return s.flush(ctx, req, true)
}

// flush seals the collections' growing segments; limited applies the
// Flush rate limit (quotaAndLimits.flushRate), which binds users' Flush
// calls, not the flush a truncate makes on its own.
func (s *Server) flush(ctx context.Context, req *milvuspb.FlushRequest, limited bool) (*milvuspb.FlushResponse, error) {
	db := dbOf(ctx, req.GetDbName())
	resp := &milvuspb.FlushResponse{DbName: db, CollSegIDs: map[string]*schemapb.LongArray{},
		FlushCollSegIDs: map[string]*schemapb.LongArray{}, CollSealTimes: map[string]int64{}, CollFlushTs: map[string]uint64{}}
	for _, name := range req.GetCollectionNames() {
		c, err := s.collection(ctx, db, name)
		if err != nil {
			return nil, err
		}
		if limited {
			if err := s.admit(ctx, quota.Flush, c.DBName, c.ID, 1); err != nil {
				return nil, err
			}
		}
		// The flush's timestamp is the earliest of its Seals': every write
		// acknowledged before the Flush is older than each Seal, and every
		// channel's checkpoint reaches its own Seal's timestamp, so
		// GetFlushState's checkpoint test can hold on every channel (with
		// the latest, a channel sealed earlier would wait for a time tick).
		var flushTS uint64
		for i, vc := range c.VChannels {
			_, ts, err := s.d.Writer.Seal(ctx, c.PChannels[i], vc, c.ID)
			if err != nil {
				return nil, err
			}
			if flushTS == 0 || ts < flushTS {
				flushTS = ts
			}
		}
		sealed, flushed := []int64{}, []int64{}
		segs, err := s.d.Data.Segments(ctx, c.ID, "")
		if err != nil {
			return nil, err
		}
		for _, seg := range segs {
			switch seg.State {
			case model.SegmentSealed:
				sealed = append(sealed, seg.ID)
			case model.SegmentFlushed:
				flushed = append(flushed, seg.ID)
			}
		}
		sort.Slice(sealed, func(i, j int) bool { return sealed[i] < sealed[j] })
		if len(sealed) > 0 {
			// A channel the data node cannot flush answers its cause here
			// rather than leave the caller waiting for GetFlushState.
			if _, err := s.d.Data.Flushed(ctx, sealed); err != nil {
				return nil, err
			}
		}
		resp.CollSegIDs[name] = &schemapb.LongArray{Data: sealed}
		resp.FlushCollSegIDs[name] = &schemapb.LongArray{Data: flushed}
		resp.CollSealTimes[name] = tso.Physical(flushTS).Unix()
		resp.CollFlushTs[name] = flushTS
	}
	return resp, nil
}

// GetFlushState reports whether a Flush is durable, as Milvus's data
// coordinator answers it: the given segments are flushed and, when the
// request names its collection (as the SDKs do), every channel of the
// collection has its checkpoint at or past the flush's timestamp. The
// checkpoint passes it once the data node has read the channel's Seal and
// written what it buffered before, the deletes of a channel with no
// growing segment included (they have no segment to wait for). A channel
// the data node cannot flush (a message it cannot apply, or object store
// writes that keep failing) answers its cause instead of "not yet", so a
// client polling it does not wait until it gives up.
func (s *Server) GetFlushState(ctx context.Context, req *milvuspb.GetFlushStateRequest) (*milvuspb.GetFlushStateResponse, error) {
	var c *model.Collection
	if req.GetCollectionName() != "" {
		var err error
		if c, err = s.collection(ctx, req.GetDbName(), req.GetCollectionName()); err != nil {
			return nil, err
		}
	}
	flushed, err := s.d.Data.Flushed(ctx, req.GetSegmentIDs())
	if err != nil {
		return nil, err
	}
	if !flushed || c == nil {
		return &milvuspb.GetFlushStateResponse{Flushed: flushed}, nil
	}
	// The data coordinator's error is the client's answer, as Flushed's.
	if flushed, err = s.d.Data.ChannelsFlushed(ctx, c.VChannels, req.GetFlushTs()); err != nil {
		return nil, err
	}
	return &milvuspb.GetFlushStateResponse{Flushed: flushed}, nil
}

// FlushAll flushes every collection of every database as Milvus 2.6
// does: it logs a FlushAll message on every physical channel of the
// cluster (Milvus broadcasts one to all its pchannels), which seals the
// channel's growing segments, and answers those messages
// (flush_all_msgs, by physical channel, in Milvus's message layout: its
// time tick is what clients such as milvus-backup pass back to
// GetFlushAllState in flush_all_tss), the cluster (cluster_info:
// common.clusterID and the physical channels; Milvago has no control
// channel, so cchannel is empty) and, for older clients, flush_all_ts:
// the latest message's timestamp, as Milvus.
//
// The data node flushes each channel when it reads the message and saves
// its checkpoint there. A collection created while this runs holds only
// what was written after its channel's message, or it is not listed and
// GetFlushAllState does not wait for it. FlushAll is not rate limited
// (Milvus's rate limiter has no rule for it). Every physical channel then
// gets a time tick at or past flush_all_ts, so a channel whose message is
// older than the latest still passes that timestamp without waiting for
// new writes (Milvus ticks every channel every 200 ms; Milvago only when
// a channel has news).
func (s *Server) FlushAll(ctx context.Context, _ *milvuspb.FlushAllRequest) (*milvuspb.FlushAllResponse, error) {
	pchannels, err := s.d.PChannels(ctx)
	if err != nil {
		return nil, err
	}
	dbs, err := s.d.Root.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	byPChannel := map[string][]contract.VChannel{}
	for _, db := range dbs {
		colls, err := s.d.Root.ListCollections(ctx, db.Name)
		if errors.Is(err, errs.ErrDatabaseNotFound) {
			continue // dropped since it was listed
		}
		if err != nil {
			return nil, err
		}
		for _, c := range colls {
			for i, vc := range c.VChannels {
				byPChannel[c.PChannels[i]] = append(byPChannel[c.PChannels[i]], contract.VChannel{Name: vc, CollectionID: c.ID})
			}
		}
	}
	resp := &milvuspb.FlushAllResponse{FlushAllMsgs: make(map[string]*commonpb.ImmutableMessage, len(pchannels)),
		ClusterInfo: &milvuspb.ClusterInfo{ClusterId: s.cfg.ClusterID, Pchannels: slices.Clone(pchannels)}}
	for _, p := range pchannels {
		r, err := s.d.Writer.FlushAll(ctx, p, byPChannel[p])
		if err != nil {
			return nil, err
		}
		resp.FlushAllMsgs[p] = msg.MilvusFlushAll(p, uint64(r.ID), r.TS)
		resp.FlushAllTs = max(resp.FlushAllTs, r.TS)
	}
	for _, p := range pchannels {
		if err := s.d.Writer.SyncTo(ctx, p, resp.FlushAllTs); err != nil {
			return nil, err
		}
	}
	return resp, nil
}
