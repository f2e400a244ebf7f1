package datanode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
)

// dataCoord is what the data node needs from the data coordinator.
type dataCoord interface {
	GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error)
	UpdateCheckpoint(ctx context.Context, vchannel string, cp contract.Checkpoint) error
	Segment(ctx context.Context, id int64) (model.Segment, bool, error)
	SegmentFlushed(ctx context.Context, r contract.FlushResult) error
	AddDeltaLog(ctx context.Context, dl model.DeltaLog) error
	NoteBufferedRows(ctx context.Context, segmentID, rows int64) error
	// SaveSyncManifest records a growing segment's sync manifest; only
	// the channel's owner is heard (errs.ErrChannelMisrouted).
	SaveSyncManifest(ctx context.Context, segmentID int64, manifest string) error
	// ChannelFailed records that a channel stopped at a message the data
	// node cannot apply, or that its flushes keep failing (faults.go).
	ChannelFailed(ctx context.Context, f contract.ChannelFailure) error
	// ChannelRecovered records that a flush of a channel whose flushes
	// failed succeeded (faults.go).
	ChannelRecovered(ctx context.Context, vchannel string) error
}

// idAllocator hands out global IDs (rootcoord).
type idAllocator interface {
	AllocID(ctx context.Context, count int64) (int64, error)
}

// Deps are the data node's collaborators.
type Deps struct {
	Log     logbroker.Log
	Objects objstore.Store
	Coord   dataCoord
	IDs     idAllocator
	// Collections resolves a collection's current definition when the log
	// carries a field the channel's schema lacks (schema.go); nil: such an
	// insert fails the pipeline.
	Collections collections
	// Imports receives import jobs' progress (the data coordinator, or its
	// client); nil: progress is reported only at the end.
	Imports importProgress
	// Sync is when growing segments' buffers are synced before their seal
	// (sync.go); nil: DefaultSyncPolicy.
	Sync *SyncPolicy
	// Points are the process's failpoints (internal/failpoint; nil:
	// none): datanode.flush.deltaLog and datanode.flush.binlog fail the
	// object store writes of a flush.
	Points *failpoint.Set
	Logger *slog.Logger
}

// Server is a data node.
type Server struct {
	d      Deps
	logger *slog.Logger

	mu        sync.Mutex // guards pipelines and runCtx
	runCtx    context.Context
	wg        sync.WaitGroup
	pipelines map[string]*pipeline // by physical channel
	policy    SyncPolicy
	mem       *memAccount // bytes buffered by every pipeline
}

// New returns a data node; Run starts it.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	policy := DefaultSyncPolicy()
	if d.Sync != nil {
		policy = *d.Sync
	}
	return &Server{d: d, logger: d.Logger.With("component", "datanode"), pipelines: map[string]*pipeline{},
		policy: policy, mem: newMemAccount(policy)}
}

// Run serves until ctx ends, then stops every pipeline.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	s.runCtx = ctx
	for _, p := range s.pipelines {
		s.startLocked(p)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
	return nil
}

// Watch starts consuming a collection's virtual channels.
func (s *Server) Watch(ctx context.Context, c *model.Collection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, vc := range c.VChannels {
		pc := c.PChannels[i]
		p, ok := s.pipelines[pc]
		if !ok {
			p = newPipeline(pc, s.d, s.logger, s.policy, s.mem)
			s.pipelines[pc] = p
		}
		cp, err := s.d.Coord.GetCheckpoint(ctx, vc)
		if err != nil {
			return fmt.Errorf("datanode: checkpoint of %s: %w", vc, err)
		}
		p.watch(c, vc, cp)
		if !ok && s.runCtx != nil {
			s.startLocked(p)
		}
	}
	return nil
}

// Unwatch stops consuming a collection's channels (dropped, or moved to
// another data node) and drops their buffers. A pipeline left with no
// channel stops, and Unwatch waits for it (up to unwatchWait), so that a
// later Watch of its pchannel starts a new reader at the checkpoints then
// current: a pchannel moved away and back is read again from where its
// other owner left it, not from where this node stopped.
func (s *Server) Unwatch(c *model.Collection) {
	var stopped []*pipeline
	s.mu.Lock()
	for i, vc := range c.VChannels {
		pc := c.PChannels[i]
		p, ok := s.pipelines[pc]
		if !ok {
			continue
		}
		if p.unwatch(vc) == 0 {
			delete(s.pipelines, pc)
			if p.cancel != nil {
				p.cancel()
				stopped = append(stopped, p)
			}
		}
	}
	s.mu.Unlock()
	timeout := time.After(unwatchWait)
	for _, p := range stopped {
		select {
		case <-p.done:
			s.logger.Info("pipeline stopped", "pchannel", p.name)
		case <-timeout:
			s.logger.Warn("pipeline still stopping", "pchannel", p.name)
			return
		}
	}
}

// unwatchWait bounds Unwatch's wait for a pipeline to stop.
const unwatchWait = 10 * time.Second

// UpdateCollection gives the data node a collection's new definition (a
// field added or altered): each of its channels buffers and flushes under
// it from the channel's next message on.
func (s *Server) UpdateCollection(c *model.Collection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, vc := range c.VChannels {
		if p, ok := s.pipelines[c.PChannels[i]]; ok {
			p.setCollection(vc, c)
		}
	}
}

func (s *Server) startLocked(p *pipeline) {
	if p.started {
		return
	}
	p.started = true
	ctx, cancel := context.WithCancel(s.runCtx)
	p.cancel, p.done = cancel, make(chan struct{})
	s.wg.Go(func() {
		defer close(p.done)
		defer cancel()
		for {
			err := p.run(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			if errors.Is(err, errRewind) {
				// Read again from the checkpoints, the late one included.
				s.logger.Info("pipeline reads again from the checkpoints: a vchannel was watched behind it", "pchannel", p.name)
				if err := p.reset(ctx); err != nil {
					s.logger.Error("pipeline reset", "pchannel", p.name, "err", err)
					if !sleepCtx(ctx) {
						return
					}
				}
				continue
			}
			if errors.Is(err, errs.ErrChannelMisrouted) {
				// The data coordinator gave the pchannel to another node
				// (balance, or this node was cut off): stop reading it, and
				// forget it so that a later Watch starts afresh.
				s.logger.Warn("pchannel owned by another data node; pipeline stops", "pchannel", p.name, "err", err)
				s.mu.Lock()
				if s.pipelines[p.name] == p {
					delete(s.pipelines, p.name)
				}
				s.mu.Unlock()
				return
			}
			// A failed flush leaves the buffers as they were; reading again
			// from the checkpoint rebuilds them.
			s.logger.Error("pipeline failed, restarting from checkpoint", "pchannel", p.name, "err", err)
			if !sleepCtx(ctx) {
				return
			}
			if err := p.reset(ctx); err != nil {
				s.logger.Error("pipeline reset", "pchannel", p.name, "err", err)
			}
		}
	})
}
