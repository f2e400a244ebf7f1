package app

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// dropper fans a dropped collection or partition out to the components
// that hold its state: the query coordinator stops serving it, the data
// node stops consuming it, the data and index coordinators forget its
// segments and indexes, and its files are deleted. Standalone calls the
// components directly; a cluster's rootcoord reaches them through their
// clients (or directly, those in its own process).
type dropper struct {
	query interface {
		ReleaseCollection(ctx context.Context, collectionID int64) error
		PartitionDropped(ctx context.Context, c *model.Collection, partitionID int64) error
	}
	data interface {
		Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
		DropCollection(ctx context.Context, c *model.Collection) error
		DropPartition(ctx context.Context, collection, partition int64) error
	}
	index interface {
		SegmentIndexes(ctx context.Context, segmentID int64) ([]model.SegmentIndex, error)
		DropCollection(ctx context.Context, collectionID int64) error
	}
	unwatch func(ctx context.Context, c *model.Collection) error
	objects objstore.Store
	logger  *slog.Logger
}

func (d *dropper) CollectionDropped(ctx context.Context, c *model.Collection) {
	if err := d.query.ReleaseCollection(ctx, c.ID); err != nil {
		d.logger.Error("release dropped collection", "collection", c.ID, "err", err)
	}
	if err := d.unwatch(ctx, c); err != nil {
		d.logger.Error("stop consuming dropped collection", "collection", c.ID, "err", err)
	}
	// Index files live under their build ID, not the collection: note the
	// builds before the segments and indexes are forgotten.
	var builds []int64
	segs, err := d.data.Segments(ctx, c.ID, "")
	if err != nil {
		d.logger.Error("list dropped collection segments", "collection", c.ID, "err", err)
	}
	for _, seg := range segs {
		sis, err := d.index.SegmentIndexes(ctx, seg.ID)
		if err != nil {
			d.logger.Error("list dropped segment indexes", "segment", seg.ID, "err", err)
		}
		for _, si := range sis {
			builds = append(builds, si.BuildID)
		}
	}
	if err := d.data.DropCollection(ctx, c); err != nil {
		d.logger.Error("drop collection segments", "collection", c.ID, "err", err)
	}
	if err := d.index.DropCollection(ctx, c.ID); err != nil {
		d.logger.Error("drop collection indexes", "collection", c.ID, "err", err)
	}
	for _, prefix := range []string{"insert_log/", "delta_log/", "stats_log/"} {
		if err := d.objects.DeletePrefix(ctx, prefix+strconv.FormatInt(c.ID, 10)+"/"); err != nil {
			d.logger.Warn("delete dropped collection files", "collection", c.ID, "err", err)
		}
	}
	for _, id := range builds {
		if err := d.objects.DeletePrefix(ctx, storage.IndexFilePrefix+"/"+strconv.FormatInt(id, 10)+"/"); err != nil {
			d.logger.Warn("delete dropped collection index files", "collection", c.ID, "build", id, "err", err)
		}
	}
}

func (d *dropper) PartitionDropped(ctx context.Context, c *model.Collection, partitionID int64) {
	if err := d.query.PartitionDropped(ctx, c, partitionID); err != nil {
		d.logger.Error("stop serving dropped partition", "partition", partitionID, "err", err)
	}
	if err := d.data.DropPartition(ctx, c.ID, partitionID); err != nil {
		d.logger.Error("drop partition segments", "partition", partitionID, "err", err)
	}
}
