package datacoord

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// Channel failures: a virtual channel whose data node cannot apply one of
// its messages stops flushing there (contract.ChannelFailure). The failure
// is kept in the meta store, so that whoever asks whether that channel's
// segments are flushed (GetFlushState, Flush) gets the cause instead of
// waiting forever, across restarts of any role, until the channel's
// checkpoint passes the message or the collection is dropped.

const prefixFailure = "data/channel-failure/"

// ChannelFailed records that the data node cannot apply the message at
// f.Position of f.VChannel.
func (s *Server) ChannelFailed(ctx context.Context, f contract.ChannelFailure) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("datacoord: encode channel failure: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.kv.Put(ctx, prefixFailure+f.VChannel, b); err != nil {
		return fmt.Errorf("datacoord: save failure of %s: %w", f.VChannel, err)
	}
	if s.failures == nil {
		s.failures = map[string]contract.ChannelFailure{}
	}
	s.failures[f.VChannel] = f
	s.logger.Error("channel cannot be flushed", "vchannel", f.VChannel, "collection", f.CollectionID,
		"position", f.Position, "cause", f.Cause)
	return nil
}

// ChannelFailures lists the recorded failures, for tests and tools.
func (s *Server) ChannelFailures(ctx context.Context) []contract.ChannelFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]contract.ChannelFailure, 0, len(s.failures))
	for _, f := range s.failures {
		out = append(out, f)
	}
	return out
}

func (s *Server) loadFailures(ctx context.Context) error {
	entries, err := s.kv.List(ctx, prefixFailure)
	if err != nil {
		return fmt.Errorf("datacoord: load channel failures: %w", err)
	}
	s.failures = map[string]contract.ChannelFailure{}
	for _, e := range entries {
		var f contract.ChannelFailure
		if err := json.Unmarshal(e.Value, &f); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		s.failures[strings.TrimPrefix(e.Key, prefixFailure)] = f
	}
	return nil
}

// failureErrLocked is the error for a segment whose channel has failed.
func (s *Server) failureErrLocked(seg *model.Segment) error {
	f, ok := s.failures[seg.VChannel]
	if !ok {
		return nil
	}
	return failureError(f)
}

func failureError(f contract.ChannelFailure) error {
	return fmt.Errorf("%w[channel=%s]: the data node cannot apply log message %d of collection %d, so the channel "+
		"stops flushing there until the collection is dropped: %s", errs.ErrServiceInternal, f.VChannel, f.Position, f.CollectionID, f.Cause)
}

// clearFailureLocked forgets vc's failure once its checkpoint has moved
// past the failed message (a data node applied it), or when the channel
// is dropped (cp nil).
func (s *Server) clearFailureLocked(ctx context.Context, vc string, cp *contract.Checkpoint) error {
	f, ok := s.failures[vc]
	if !ok || (cp != nil && cp.Position < f.Position) {
		return nil
	}
	if err := s.kv.Delete(ctx, prefixFailure+vc); err != nil {
		return fmt.Errorf("datacoord: clear failure of %s: %w", vc, err)
	}
	delete(s.failures, vc)
	return nil
}
