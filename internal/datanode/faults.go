package datanode

import (
	"context"
	"errors"
	"fmt"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/storage"
)

// A message the data node cannot apply (a column missing or of the wrong
// length, a field the schema lacks) would fail the same way on every
// replay: retrying it from the checkpoint forever would stop every
// collection of the physical channel from flushing. Such an error is a
// badMessage; the pipeline fails only that message's virtual channel
// (fail): it stops applying and flushing the channel, keeps its checkpoint
// before the message (so the log keeps everything not yet flushed, and a
// data node that can apply it recovers by replaying), and reports the
// cause to the data coordinator, which answers it to whoever waits for the
// channel's segments to flush. Every other error (object store, meta
// store, coordinator unreachable) is transient: the pipeline restarts from
// its checkpoints and retries. A channel whose flush fails
// flushFailuresReported times in a row is reported too (Retrying: it
// keeps being retried), so that whoever waits for its flush gets the
// cause rather than waiting until it gives up; the first flush of it
// that succeeds reports it recovered (flushed).

// badMessage is an error caused by a message's content.
type badMessage struct{ err error }

func (b *badMessage) Error() string { return b.err.Error() }
func (b *badMessage) Unwrap() error { return b.err }

// bad marks err as caused by the message being applied.
func bad(err error) error {
	if err == nil {
		return nil
	}
	return &badMessage{err: err}
}

func isBadMessage(err error) bool {
	var b *badMessage
	return errors.As(err, &b)
}

// fail stops vs at the message at position id: its buffers are dropped,
// its checkpoint stays where it is, and the data coordinator records the
// cause. The pipeline goes on with the other channels.
func (p *pipeline) fail(ctx context.Context, vs *vstate, id uint64, cause error) error {
	p.logger.Error("cannot apply message: the channel stops flushing here; the other channels go on",
		"vchannel", vs.name, "collection", vs.coll.ID, "position", id, "err", cause)
	if err := p.d.Coord.ChannelFailed(ctx, contract.ChannelFailure{CollectionID: vs.coll.ID, VChannel: vs.name,
		Position: id, Cause: cause.Error()}); err != nil {
		// Transient: the pipeline restarts, replays and fails vs again.
		return fmt.Errorf("datanode: report failure of %s: %w", vs.name, err)
	}
	vs.failed = cause
	p.dropBuffers(vs, true)
	vs.deletes = storage.Deltas{}
	return nil
}

// isDropped reports whether err says a segment is unknown to the data
// coordinator: its collection or partition was dropped.
func isDropped(err error) bool { return errors.Is(err, errs.ErrSegmentNotFound) }

// flushFailuresReported is how many failures in a row of a channel's
// flush (one a second: the pipeline restarts after a second) make it
// reported: an object store that fails once in a while does not fail a
// client's Flush, one that keeps failing does within seconds.
const flushFailuresReported = 3

// flushFailure is a vchannel's run of failed flushes.
type flushFailure struct {
	position uint64 // the message whose handling failed last
	count    int    // failures in a row
	reported bool   // the data coordinator has it (ChannelFailed)
}

// flushFailed counts a failure to handle the message at id of vs (err:
// not one of its content), and reports the channel to the data
// coordinator once it failed flushFailuresReported times in a row. A
// report refused or lost is tried again at the next failure. A
// coordinator that is not reachable or not ready (a failover) is not the
// channel's failure: the client's Flush meets the same coordinator.
func (p *pipeline) flushFailed(ctx context.Context, vs *vstate, id uint64, err error) {
	if ctx.Err() != nil || refused(err) || errors.Is(err, errRewind) ||
		errors.Is(err, errs.ErrServiceUnavailable) || errors.Is(err, errs.ErrServiceNotReady) {
		return
	}
	f := p.flushFails[vs.name]
	if f == nil {
		f = &flushFailure{}
		p.flushFails[vs.name] = f
	}
	f.position = max(f.position, id)
	f.count++
	if f.reported || f.count < flushFailuresReported {
		return
	}
	if rerr := p.d.Coord.ChannelFailed(ctx, contract.ChannelFailure{CollectionID: vs.coll.ID, VChannel: vs.name,
		Position: f.position, Cause: err.Error(), Retrying: true}); rerr != nil {
		p.logger.Warn("report failing flushes", "vchannel", vs.name, "err", rerr)
		return
	}
	f.reported = true
	p.logger.Error("flushes of the channel keep failing; reported, and retried", "vchannel", vs.name,
		"collection", vs.coll.ID, "position", f.position, "failures", f.count, "err", err)
}

// flushed notes that the message at id of vs was handled: past the
// message whose flush failed, the channel's run of failures is over (and
// reported over, if it was reported). A lost report of recovery is tried
// again at the next message; the data coordinator also clears the
// failure once the checkpoint passes it.
func (p *pipeline) flushed(ctx context.Context, vs *vstate, id uint64) {
	f := p.flushFails[vs.name]
	if f == nil || id < f.position {
		return
	}
	if f.reported {
		err := p.d.Coord.ChannelRecovered(ctx, vs.name)
		if refused(err) {
			// The channel moved to another node: its failures are the
			// new owner's to report, and this node's report is not heard.
			p.logger.Warn("recovered flushes not reported: the channel has another owner", "vchannel", vs.name, "err", err)
			delete(p.flushFails, vs.name)
			return
		}
		if err != nil {
			p.logger.Warn("report recovered flushes", "vchannel", vs.name, "err", err)
			return
		}
		p.logger.Info("channel flushes again", "vchannel", vs.name, "failures", f.count)
	}
	delete(p.flushFails, vs.name)
}
