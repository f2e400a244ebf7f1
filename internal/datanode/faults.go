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
// its checkpoints and retries, as before.

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
