package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
)

// Config tunes log retention.
type Config struct {
	// Interval is how often the loop looks for something to truncate.
	Interval time.Duration
	// Window is how long a message is kept after every checkpoint of its
	// pchannel has passed it, for readers replaying from older plans.
	Window time.Duration
}

// Default returns the defaults: a pass every 30 s, a 10 minute window.
func Default() Config {
	return Config{Interval: 30 * time.Second, Window: 10 * time.Minute}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Interval <= 0 {
		return errors.New("retention: interval must be positive")
	}
	if c.Window < 0 {
		return errors.New("retention: window must not be negative")
	}
	return nil
}

// checkpoints are the vchannels' recovery points (the data coordinator).
type checkpoints interface {
	GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error)
}

// truncater discards old messages (the log).
type truncater interface {
	Latest(ctx context.Context, channel string) (logbroker.MessageID, error)
	Truncate(ctx context.Context, channel string, upTo logbroker.MessageID) error
}

// Deps are the retention loop's collaborators.
type Deps struct {
	Log         truncater
	Checkpoints checkpoints
	// Collections lists every live collection (the root coordinator).
	Collections func(ctx context.Context) ([]*model.Collection, error)
	// PChannels lists every physical channel (optional). Those no live
	// collection maps to are emptied after start-up, like a pchannel whose
	// last collection was dropped: this is what covers drops made before
	// a restart.
	PChannels []string
	// Owns reports whether this loop truncates pchannel now (cluster mode:
	// the pchannel's current writer, so that each pchannel has one
	// retention owner that follows its hand-overs). nil: every pchannel
	// (standalone).
	Owns   func(pchannel string) bool
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: discard
}

// Server is the retention loop.
type Server struct {
	cfg    Config
	d      Deps
	logger *slog.Logger

	truncated map[string]uint64      // pchannel -> truncation point this loop set
	pending   map[string][]candidate // pchannel -> safe points waiting out the window, increasing
	used      map[string]bool        // pchannels some collection mapped to at the last pass
	orphans   map[string]bool        // pchannels whose last collection was dropped, not yet emptied
}

// candidate is a safe point and when it was first seen safe.
type candidate struct {
	at   time.Time
	upTo uint64
}

// New validates cfg and returns the loop; Run starts it.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil || d.Checkpoints == nil || d.Collections == nil {
		return nil, errors.New("retention: Log, Checkpoints and Collections are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, d: d, logger: d.Logger.With("component", "retention"),
		truncated: map[string]uint64{}, pending: map[string][]candidate{}, used: map[string]bool{}, orphans: map[string]bool{}}
	for _, pc := range d.PChannels {
		s.used[pc] = true // the first pass marks the unused ones as orphans
	}
	return s, nil
}

// Run makes a pass every Interval until ctx ends. A failed pass is logged
// and retried at the next one: truncation is never urgent.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.pass(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("retention pass", "err", err)
			}
		}
	}
}

// pass computes each pchannel's safe point, queues it, and truncates to
// the newest queued safe point that has been safe for the whole window.
func (s *Server) pass(ctx context.Context) error {
	// An orphan's last position is read before the collections are listed:
	// a collection created on it later appends above it.
	orphanEnd := map[string]logbroker.MessageID{}
	for pc := range s.orphans {
		if !s.owns(pc) {
			continue
		}
		id, err := s.d.Log.Latest(ctx, pc)
		if err != nil {
			return fmt.Errorf("retention: latest of %s: %w", pc, err)
		}
		orphanEnd[pc] = id
	}
	before, err := s.d.Collections(ctx)
	if err != nil {
		return fmt.Errorf("retention: list collections: %w", err)
	}
	safe := map[string]uint64{}
	for _, c := range before {
		for i, vc := range c.VChannels {
			pc := c.PChannels[i]
			got, err := s.d.Checkpoints.GetCheckpoint(ctx, vc)
			if err != nil {
				return fmt.Errorf("retention: checkpoint of %s: %w", vc, err)
			}
			cp := got.Position
			cur, ok := safe[pc]
			if !ok {
				cur = math.MaxUint64
			}
			safe[pc] = min(cur, cp)
		}
	}
	after, err := s.d.Collections(ctx)
	if err != nil {
		return fmt.Errorf("retention: list collections: %w", err)
	}
	if !sameChannels(before, after) {
		s.logger.Debug("collections changed during the pass, retrying later")
		return nil
	}
	now := s.d.Now()
	var errs []error
	for pc := range s.used {
		if _, ok := safe[pc]; !ok {
			s.orphans[pc] = true // emptied at the next pass
		}
	}
	s.used = map[string]bool{}
	for pc := range safe {
		s.used[pc] = true
	}
	for pc, end := range orphanEnd {
		if s.used[pc] {
			delete(s.orphans, pc) // in use again: the rule applies
			continue
		}
		// No live collection maps to pc: nobody reads what it holds
		// (the dropped collections' messages and ticks).
		if err := s.d.Log.Truncate(ctx, pc, end); err != nil {
			errs = append(errs, fmt.Errorf("retention: truncate unused %s up to %d: %w", pc, end, err))
			continue
		}
		delete(s.orphans, pc)
		s.truncated[pc] = max(s.truncated[pc], uint64(end))
		s.logger.Debug("truncated unused pchannel", "pchannel", pc, "up_to", end)
	}
	for pc := range s.pending {
		if _, ok := safe[pc]; !ok {
			delete(s.pending, pc) // no collection left: nothing to decide
		}
	}
	for pc, upTo := range safe {
		if !s.owns(pc) {
			// Another writer's: its loop decides. What this one queued
			// is dropped, so a pchannel taken back waits out a whole
			// window again.
			delete(s.pending, pc)
			continue
		}
		q := s.pending[pc]
		last := s.truncated[pc]
		if len(q) > 0 {
			last = q[len(q)-1].upTo
		}
		if upTo > last {
			q = append(q, candidate{at: now, upTo: upTo})
		}
		var target uint64
		for len(q) > 0 && now.Sub(q[0].at) >= s.cfg.Window {
			target = q[0].upTo
			q = q[1:]
		}
		if len(q) == 0 {
			delete(s.pending, pc)
		} else {
			s.pending[pc] = q
		}
		if target <= s.truncated[pc] {
			continue
		}
		if err := s.d.Log.Truncate(ctx, pc, logbroker.MessageID(target)); err != nil {
			// Put it back: the next pass retries.
			s.pending[pc] = append([]candidate{{at: now.Add(-s.cfg.Window), upTo: target}}, s.pending[pc]...)
			errs = append(errs, fmt.Errorf("retention: truncate %s up to %d: %w", pc, target, err))
			continue
		}
		s.truncated[pc] = target
		s.logger.Debug("truncated log", "pchannel", pc, "up_to", target)
	}
	return errors.Join(errs...)
}

// owns reports whether this loop truncates pchannel.
func (s *Server) owns(pchannel string) bool { return s.d.Owns == nil || s.d.Owns(pchannel) }

// sameChannels reports whether two listings carry the same vchannels.
func sameChannels(a, b []*model.Collection) bool {
	set := func(colls []*model.Collection) map[string]string {
		m := map[string]string{}
		for _, c := range colls {
			for i, vc := range c.VChannels {
				m[vc] = c.PChannels[i]
			}
		}
		return m
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for vc, pc := range sa {
		if sb[vc] != pc {
			return false
		}
	}
	return true
}
