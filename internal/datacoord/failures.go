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
// checkpoint passes the message or the collection is dropped. A channel
// whose flushes keep failing (Retrying: an object store write fails) is
// answered the same way while it fails: until the data node reports a
// flush of it succeeded (ChannelRecovered), or its checkpoint passes the
// failed message.
//
// Both reports are heard only from the data node that owns the channel's
// pchannel now (CheckOwner, as every other report about a channel): a
// node cut off, paused or slow while the channel moved to another is
// refused with channel misrouted (507), so it can neither fail the new
// owner's channel with its own stale cause nor clear a failure the owner
// reported while the owner's flushes still fail. And a Retrying failure
// is its reporter's (ChannelFailure.Node): once the channel has moved to
// another data node, which retries the flush from the checkpoint, it is no
// longer answered (the channel's state as clients see it is the new
// owner's), until the new owner reports a failure of its own.

const prefixFailure = "data/channel-failure/"

// ChannelFailed records that the data node cannot apply the message at
// f.Position of f.VChannel (or, f.Retrying, cannot flush what it buffered
// up to it). A channel already failed for good keeps that failure. Only
// the channel's owner is heard (errs.ErrChannelMisrouted otherwise).
func (s *Server) ChannelFailed(ctx context.Context, f contract.ChannelFailure) error {
	if err := s.checkOwner(ctx, ReportFailure, f.VChannel); err != nil {
		return fmt.Errorf("datacoord: failure of %s: %w", f.VChannel, err)
	}
	f.Node, _ = contract.CallerOf(ctx)
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("datacoord: encode channel failure: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.failures[f.VChannel]; ok && !old.Retrying && f.Retrying {
		return nil
	}
	if cp, ok := s.checkpoints[f.VChannel]; ok && f.Retrying && cp.Position >= f.Position {
		return nil // flushed meanwhile (a report that came late)
	}
	if _, err := s.kv.Put(ctx, prefixFailure+f.VChannel, b); err != nil {
		return fmt.Errorf("datacoord: save failure of %s: %w", f.VChannel, err)
	}
	if s.failures == nil {
		s.failures = map[string]contract.ChannelFailure{}
	}
	s.failures[f.VChannel] = f
	s.logger.Error("channel cannot be flushed", "vchannel", f.VChannel, "collection", f.CollectionID,
		"position", f.Position, "retrying", f.Retrying, "cause", f.Cause)
	return nil
}

// ChannelRecovered records that a flush of vchannel succeeded: a
// failure of its flushes (Retrying) is over. A message the data node
// cannot apply stays failed. Only the channel's owner is heard
// (errs.ErrChannelMisrouted otherwise).
func (s *Server) ChannelRecovered(ctx context.Context, vchannel string) error {
	if err := s.checkOwner(ctx, ReportRecovery, vchannel); err != nil {
		return fmt.Errorf("datacoord: recovery of %s: %w", vchannel, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.failures[vchannel]
	if !ok || !f.Retrying {
		return nil
	}
	if err := s.kv.Delete(ctx, prefixFailure+vchannel); err != nil {
		return fmt.Errorf("datacoord: clear failure of %s: %w", vchannel, err)
	}
	delete(s.failures, vchannel)
	s.logger.Info("channel flushes again", "vchannel", vchannel, "collection", f.CollectionID)
	return nil
}

// ChannelsFlushed reports whether the checkpoint of every channel in
// vchannels has reached ts: what was written before ts is durable. A
// channel short of ts whose data node cannot flush it (a failure
// recorded) is an error naming the cause instead: it would not get there.
func (s *Server) ChannelsFlushed(ctx context.Context, vchannels []string, ts uint64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	flushed := true
	for _, vc := range vchannels {
		if s.checkpoints[vc].TS >= ts {
			continue
		}
		if f, ok := s.failureLocked(vc); ok {
			return false, failureError(f)
		}
		flushed = false
	}
	return flushed, nil
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
	f, ok := s.failureLocked(seg.VChannel)
	if !ok {
		return nil
	}
	return failureError(f)
}

// failureLocked is vc's failure to answer: none for a Retrying failure
// whose reporter no longer owns the channel (a node cut off or gone while
// its flushes failed): the new owner retries, and reports its own failure
// if its flushes fail too. The record stays until the checkpoint passes
// it or the owner recovers it.
func (s *Server) failureLocked(vc string) (contract.ChannelFailure, bool) {
	f, ok := s.failures[vc]
	if !ok || !f.Retrying || f.Node == 0 {
		return f, ok
	}
	if c := s.channels.Load(); c != nil {
		if owner, known := c.VChannelOwner(vc); known && owner != f.Node {
			return contract.ChannelFailure{}, false
		}
	}
	return f, true
}

func failureError(f contract.ChannelFailure) error {
	if f.Retrying {
		return fmt.Errorf("%w[channel=%s]: the data node cannot flush collection %d's data up to log message %d "+
			"and keeps retrying: %s", errs.ErrServiceInternal, f.VChannel, f.CollectionID, f.Position, f.Cause)
	}
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
