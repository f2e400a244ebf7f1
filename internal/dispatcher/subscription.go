package dispatcher

import (
	"context"
	"fmt"
	"sync"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

// Subscription reads one virtual channel: its messages and its physical
// channel's time ticks. It implements logbroker.Reader. Messages of a
// virtual channel that several subscriptions read are shared between
// them: a receiver must not modify Payload or Properties.
type Subscription struct {
	d        *Dispatcher
	ch       *channel
	vchannel string
	q        chan logbroker.Message // own messages, in log order
	wake     chan struct{}          // capacity 1: the position or the source changed
	done     chan struct{}          // closed by Close
	once     sync.Once

	nextMu sync.Mutex          // serialises Next; guards last
	last   logbroker.MessageID // the last ID Next returned (or the start)

	mu sync.Mutex // guards the fields below
	// run is the shared reader feeding s once it joined; nil while its
	// catch-up reader feeds it, and once a truncation that passed s ended
	// it (soloErr then says so; channel.resumeAt). start (set at the join, read by the shared
	// reader under the channel's mu) is the position the shared reader
	// delivers after.
	run   *run
	start logbroker.MessageID
	// soloPos and soloTS are the catch-up reader's last message; soloErr
	// why it ended.
	soloPos    logbroker.MessageID
	soloTS     uint64
	soloErr    error
	soloCancel context.CancelFunc
}

var _ logbroker.Reader = (*Subscription)(nil)

// signal wakes a Next waiting for its source to move.
func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// push queues m unless s closes or ctx ends first.
func (s *Subscription) push(ctx context.Context, m logbroker.Message) bool {
	select {
	case s.q <- m:
		return true
	case <-s.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// source returns the position s's feeder has reached (everything of s's
// virtual channel up to it is queued or delivered), the channel that is
// closed when a tick moves it (nil: wake is signalled instead), and the
// error that ended the feeder.
func (s *Subscription) source() (logbroker.MessageID, uint64, <-chan struct{}, error) {
	s.mu.Lock()
	r := s.run
	if r == nil {
		defer s.mu.Unlock()
		return s.soloPos, s.soloTS, nil, s.soloErr
	}
	s.mu.Unlock()
	s.ch.mu.Lock()
	defer s.ch.mu.Unlock()
	if r.ts == 0 {
		// A shared reader started at a subscription's position knows no
		// timestamp for it until it has read a message: no tick yet.
		return 0, 0, r.tick, r.err
	}
	return r.pos, r.ts, r.tick, r.err
}

// Next implements logbroker.Reader: the next message of the virtual
// channel, or a time tick.
func (s *Subscription) Next(ctx context.Context) (logbroker.Message, error) {
	s.nextMu.Lock()
	defer s.nextMu.Unlock()
	for {
		select {
		case <-s.done:
			return logbroker.Message{}, fmt.Errorf("dispatcher: next on %s: subscription %w", s.vchannel, logbroker.ErrClosed)
		default:
		}
		// The position is read before the queue is looked at: the feeder
		// queues a message before it moves the position past it, so an
		// empty queue means every message up to pos has been returned.
		pos, ts, tick, err := s.source()
		select {
		case m := <-s.q:
			if m.ID <= s.last {
				continue
			}
			s.last = m.ID
			return m, nil
		default:
		}
		if pos > s.last {
			s.last = pos
			return tickMessage(pos, ts)
		}
		if err != nil {
			return logbroker.Message{}, fmt.Errorf("dispatcher: next on %s: %w", s.vchannel, err)
		}
		select {
		case m := <-s.q:
			if m.ID <= s.last {
				continue
			}
			s.last = m.ID
			return m, nil
		case <-tick:
		case <-s.wake:
		case <-s.done:
		case <-s.d.ctx.Done():
			return logbroker.Message{}, fmt.Errorf("dispatcher: next on %s: %w", s.vchannel, logbroker.ErrClosed)
		case <-ctx.Done():
			return logbroker.Message{}, ctx.Err()
		}
	}
}

// tickMessage is a time tick at position id and timestamp ts.
func tickMessage(id logbroker.MessageID, ts uint64) (logbroker.Message, error) {
	payload, props, err := msg.Encode(&msg.Message{Kind: msg.KindTimeTick, TS: ts})
	if err != nil {
		return logbroker.Message{}, err
	}
	if payload == nil {
		payload = []byte{}
	}
	return logbroker.Message{ID: id, Payload: payload, Properties: props}, nil
}

// Close implements logbroker.Reader. A Next blocked in another goroutine
// returns logbroker.ErrClosed.
func (s *Subscription) Close() error {
	s.once.Do(func() {
		close(s.done)
		c := s.ch
		c.mu.Lock()
		s.mu.Lock()
		r, cancel := s.run, s.soloCancel
		s.mu.Unlock()
		if r != nil {
			c.leaveLocked(r, s)
		}
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	})
	return nil
}

// catchUp feeds s from its own reader rd, positioned after pos, until it
// has reached the channel's shared reader and joined it (or, on an idle
// channel, rd becomes the shared reader).
func (s *Subscription) catchUp(ctx context.Context, rd logbroker.Reader, pos logbroker.MessageID) {
	d := s.d
	defer func() { <-d.slots }()
	defer func() {
		if rd != nil {
			rd.Close()
		}
	}()
	for {
		switch s.tryJoin(rd) {
		case joinedShared:
			return
		case becameShared:
			rd = nil // the shared reader owns it now
			return
		}
		m, err := rd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if terminal(err) {
				s.failSolo(err)
				return
			}
			d.logger.Warn("catch-up reader failed, reopening", "vchannel", s.vchannel, "after", pos, "err", err)
			rd.Close()
			if rd, err = d.reopen(ctx, s.ch.name, pos); err != nil {
				s.failSolo(err)
				return
			}
			if rd == nil {
				return
			}
			continue
		}
		pos = m.ID
		kind, vc, ts, err := msg.Route(m.Properties)
		if err != nil {
			d.logger.Error("skipping undecodable message", "pchannel", s.ch.name, "id", m.ID, "err", err)
			continue
		}
		if kind != msg.KindTimeTick && (vc == s.vchannel || vc == "") {
			if !s.push(ctx, m) {
				return
			}
		}
		s.mu.Lock()
		s.soloPos, s.soloTS = m.ID, ts
		s.mu.Unlock()
		s.signal()
	}
}

type joinResult int

const (
	behind       joinResult = iota // the shared reader is ahead: keep reading
	joinedShared                   // s joined the shared reader
	becameShared                   // the channel was idle: s's reader is the shared one now
)

// tryJoin joins s to its channel's shared reader if that has routed
// nothing past s's catch-up reader; on an idle channel, rd becomes the
// shared reader.
func (s *Subscription) tryJoin(rd logbroker.Reader) joinResult {
	c := s.ch
	c.mu.Lock()
	defer c.mu.Unlock()
	s.mu.Lock()
	pos, ts := s.soloPos, s.soloTS
	s.mu.Unlock()
	select {
	case <-s.done:
		return behind // closing: the caller's next read ends
	default:
	}
	r := c.run
	if r == nil {
		if c.starting != nil {
			return behind
		}
		if r = c.startLocked(rd, pos, ts); r == nil {
			return behind // the dispatcher closed: the caller's next read ends
		}
		c.joinLocked(r, s, pos)
		s.signal()
		return becameShared
	}
	if r.routed > pos {
		return behind
	}
	c.joinLocked(r, s, pos)
	s.signal()
	return joinedShared
}

// failSolo ends s's catch-up reader with err.
func (s *Subscription) failSolo(err error) {
	s.d.logger.Warn("catch-up reader ended", "vchannel", s.vchannel, "err", err)
	s.mu.Lock()
	s.soloErr = err
	s.mu.Unlock()
	s.signal()
}
