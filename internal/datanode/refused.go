package datanode

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/milvago/milvago/internal/errs"
)

// A data node cut off or paused while its channel moved to another node
// may still be in the middle of a report when it comes back: a sync
// piece's manifest, a flush, a delta log. The data coordinator refuses
// it (channel misrouted, 507: only the channel's owner is heard), so what
// the node wrote for it is nobody's: the node deletes it at once instead
// of leaving it to the orphan scan (docs/log-fencing.md, "Data nodes").

// discardTimeout bounds the deletes of a refused report's files.
const discardTimeout = 30 * time.Second

// refused reports whether err is the data coordinator refusing a report
// for good: another data node owns the channel.
func refused(err error) bool { return errors.Is(err, errs.ErrChannelMisrouted) }

// discardFlush deletes the binlogs and stats log of a flush of segment
// the data coordinator refused (cause). The segment's sync pieces, if any,
// stay: they are recorded, and the channel's owner flushes from them.
func (p *pipeline) discardFlush(ctx context.Context, vs *vstate, segment int64, files map[int64]string, stats string, cause error) {
	paths := slices.Sorted(maps.Values(files))
	if stats != "" {
		paths = append(paths, stats)
	}
	p.logger.Warn("flush refused: the segment's files are discarded", "vchannel", vs.name, "segment", segment,
		"files", len(paths), "err", cause)
	p.deleteAll(ctx, paths)
}
