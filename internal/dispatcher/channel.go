package dispatcher

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

// channel is one physical channel: its shared reader when one runs.
type channel struct {
	d    *Dispatcher
	name string

	mu       sync.Mutex
	run      *run          // the shared reader; nil when idle
	starting chan struct{} // non-nil while a subscription opens the shared reader; closed when it is done
}

// run is one shared reader's lifetime. Its fields are guarded by the
// channel's mu; a run that is no longer the channel's (stopped or failed)
// dispatches nothing more.
type run struct {
	ctx    context.Context
	cancel context.CancelFunc
	// routed is the last message whose subscribers were chosen; a
	// catch-up reader joins once it has read that far.
	routed logbroker.MessageID
	// pos and ts are the last message handed to every subscriber it was
	// for: a subscription with an empty queue has seen everything of its
	// virtual channel up to pos.
	pos  logbroker.MessageID
	ts   uint64
	tick chan struct{} // closed and replaced when a time tick moves pos
	subs map[string]map[*Subscription]struct{}
	n    int   // subscriptions
	err  error // why the reader ended (ErrTruncated, ErrClosed)
}

// startLocked starts a shared reader over rd positioned after pos (whose
// message has timestamp ts, 0 if unknown). nil if the dispatcher closed.
func (c *channel) startLocked(rd logbroker.Reader, pos logbroker.MessageID, ts uint64) *run {
	ctx, cancel := context.WithCancel(c.d.ctx)
	r := &run{ctx: ctx, cancel: cancel, routed: pos, pos: pos, ts: ts, tick: make(chan struct{}),
		subs: map[string]map[*Subscription]struct{}{}}
	if !c.d.spawn(func() { c.loop(r, rd, pos) }) {
		cancel()
		return nil
	}
	c.run = r
	c.d.logger.Debug("shared reader started", "pchannel", c.name, "after", pos)
	return r
}

// joinLocked makes s a subscriber of r: r delivers it the messages of its
// virtual channel after start.
func (c *channel) joinLocked(r *run, s *Subscription, start logbroker.MessageID) {
	s.mu.Lock()
	s.run, s.start = r, start
	s.mu.Unlock()
	m := r.subs[s.vchannel]
	if m == nil {
		m = map[*Subscription]struct{}{}
		r.subs[s.vchannel] = m
	}
	m[s] = struct{}{}
	r.n++
}

// leaveLocked removes s from r; the last subscription to leave stops the
// shared reader.
func (c *channel) leaveLocked(r *run, s *Subscription) {
	m := r.subs[s.vchannel]
	if _, ok := m[s]; !ok {
		return
	}
	delete(m, s)
	if len(m) == 0 {
		delete(r.subs, s.vchannel)
	}
	r.n--
	if r.n == 0 && c.run == r {
		c.run = nil
		r.cancel()
		c.d.logger.Debug("shared reader stopped: no subscriptions", "pchannel", c.name)
	}
}

// loop reads the channel after pos and routes each message to the
// subscriptions of its virtual channel, until r ends.
func (c *channel) loop(r *run, rd logbroker.Reader, pos logbroker.MessageID) {
	defer func() {
		if rd != nil {
			rd.Close()
		}
	}()
	var targets []*Subscription
	for {
		m, err := rd.Next(r.ctx)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			if errors.Is(err, logbroker.ErrTruncated) {
				// Only the subscriptions the truncation passed lose
				// messages: the others go on from a reader past it.
				if next, at := c.resume(r, pos, err); next != nil {
					rd.Close()
					rd, pos = next, at
					continue
				}
				if r.ctx.Err() != nil {
					return
				}
			}
			if terminal(err) {
				c.fail(r, err)
				return
			}
			c.d.logger.Warn("shared reader failed, reopening", "pchannel", c.name, "after", pos, "err", err)
			rd.Close()
			if rd, err = c.d.reopen(r.ctx, c.name, pos); err != nil {
				c.fail(r, err)
				return
			}
			if rd == nil {
				return // r ended
			}
			continue
		}
		pos = m.ID
		kind, vc, ts, err := msg.Route(m.Properties)
		if err != nil {
			c.d.logger.Error("skipping undecodable message", "pchannel", c.name, "id", m.ID, "err", err)
			continue
		}
		c.mu.Lock()
		if c.run != r {
			c.mu.Unlock()
			return
		}
		if kind == msg.KindTimeTick {
			r.routed, r.pos, r.ts = m.ID, m.ID, ts
			close(r.tick)
			r.tick = make(chan struct{})
			c.mu.Unlock()
			continue
		}
		targets = targets[:0]
		if vc == "" { // a message for every virtual channel
			for _, subs := range r.subs {
				for s := range subs {
					targets = append(targets, s)
				}
			}
		} else {
			for s := range r.subs[vc] {
				if m.ID > s.start {
					targets = append(targets, s)
				}
			}
		}
		r.routed = m.ID
		c.mu.Unlock()
		for _, s := range targets {
			if !s.push(r.ctx, m) && r.ctx.Err() != nil {
				return
			}
		}
		c.mu.Lock()
		if c.run != r {
			c.mu.Unlock()
			return
		}
		r.pos, r.ts = m.ID, ts
		c.mu.Unlock()
	}
}

// fail ends r with err: its subscriptions return err once they have
// drained what was queued, and the channel is idle again.
func (c *channel) fail(r *run, err error) {
	c.d.logger.Warn("shared reader ended", "pchannel", c.name, "err", err)
	c.mu.Lock()
	if c.run == r {
		c.run = nil
	}
	r.err = err
	var subs []*Subscription
	for _, m := range r.subs {
		for s := range m {
			subs = append(subs, s)
		}
	}
	c.mu.Unlock()
	r.cancel()
	for _, s := range subs {
		s.signal()
	}
}

// resume continues r after the log was truncated past pos, r's reader's
// position (err says so), for the subscriptions the truncation did not
// pass: those that joined at a start beyond every truncated message. r
// has delivered them nothing (their start is past pos), so a reader
// after the lowest such start that the log still holds serves them
// exactly: it is opened, the subscriptions below that start end with err
// once they have read what was queued, and r goes on from there. A
// subscription that joins r while the reader opens, at a start below the
// one chosen and not known truncated, makes it start over: ending it
// would report a truncation that may not have passed it. It returns the
// new reader and its position, or nil when no subscription survives or r
// ended meanwhile; r's old reader stays the caller's to close either way.
func (c *channel) resume(r *run, pos logbroker.MessageID, err error) (logbroker.Reader, logbroker.MessageID) {
	truncated := map[logbroker.MessageID]bool{} // starts the log no longer holds
	for {
		c.mu.Lock()
		var starts []logbroker.MessageID
		for _, subs := range r.subs {
			for s := range subs {
				if s.start > pos && !truncated[s.start] {
					starts = append(starts, s.start)
				}
			}
		}
		c.mu.Unlock()
		slices.Sort(starts)
		starts = slices.Compact(starts)
		again := false
		for _, at := range starts {
			rd, rerr := c.d.log.Read(r.ctx, c.name, at)
			if errors.Is(rerr, logbroker.ErrTruncated) {
				truncated[at] = true
				continue // truncated past at as well: try a later start
			}
			if rerr != nil && !terminal(rerr) && r.ctx.Err() == nil {
				rd, rerr = c.d.reopen(r.ctx, c.name, at)
				if errors.Is(rerr, logbroker.ErrTruncated) {
					truncated[at] = true
					continue
				}
			}
			if rerr != nil || rd == nil {
				return nil, pos
			}
			switch c.resumeAt(r, pos, at, truncated, err) {
			case resumeJoined:
				rd.Close()
				again = true
			case resumeGone:
				rd.Close()
				return nil, pos
			default:
				c.d.logger.Info("shared reader passed by a truncation goes on for the subscriptions beyond it",
					"pchannel", c.name, "after", pos, "resumed_after", at, "err", err)
				return rd, at
			}
			break
		}
		if !again {
			return nil, pos
		}
	}
}

// resumeAt's outcomes.
const (
	resumed      = iota
	resumeGone   // r is no longer the channel's, or no subscription is left
	resumeJoined // a subscription joined below at meanwhile: choose again
)

// resumeAt ends r's subscriptions starting below at with err and moves r
// to position at, which a new reader continues after (resumed). Nothing
// changes when r is no longer the channel's or no subscription would be
// left (resumeGone), or when a subscription starts past pos and below at
// at a start not known truncated (resumeJoined: it joined after resume
// chose at, and the log may still hold what follows its start).
func (c *channel) resumeAt(r *run, pos, at logbroker.MessageID, truncated map[logbroker.MessageID]bool, err error) int {
	c.mu.Lock()
	if c.run != r {
		c.mu.Unlock()
		return resumeGone
	}
	var ended []*Subscription
	for _, subs := range r.subs {
		for s := range subs {
			if s.start < at {
				if s.start > pos && !truncated[s.start] {
					c.mu.Unlock()
					return resumeJoined
				}
				ended = append(ended, s)
			}
		}
	}
	if len(ended) == r.n {
		c.mu.Unlock()
		return resumeGone
	}
	for _, s := range ended {
		c.leaveLocked(r, s)
		s.mu.Lock()
		// r no longer feeds s: it returns err once its queue is empty
		// (position 0: no tick past what r delivered).
		s.run, s.soloPos, s.soloTS, s.soloErr = nil, 0, 0, err
		s.mu.Unlock()
	}
	// The message at at has no known timestamp: no tick until the new
	// reader has read one. A subscription after an earlier position
	// catches up on its own reader (which fails if that is truncated).
	r.routed, r.pos, r.ts = at, at, 0
	c.mu.Unlock()
	for _, s := range ended {
		s.signal()
	}
	return resumed
}
