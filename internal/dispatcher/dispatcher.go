package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// Config tunes a Dispatcher.
type Config struct {
	// MaxCatchUp bounds the catch-up readers open at once; a subscription
	// behind its channel's shared reader waits for a slot.
	MaxCatchUp int
	// QueueLen is how many messages of its own virtual channel a
	// subscription buffers before the reader feeding it waits.
	QueueLen int
	// RetryDelay is how long a reader that failed with a transient error
	// waits before it reopens.
	RetryDelay time.Duration
}

// Default returns the defaults: 16 catch-up readers, 16 queued messages
// per subscription, 1 s between retries.
func Default() Config { return Config{MaxCatchUp: 16, QueueLen: 16, RetryDelay: time.Second} }

// Validate reports a configuration error.
func (c Config) Validate() error {
	if c.MaxCatchUp < 1 || c.QueueLen < 1 || c.RetryDelay <= 0 {
		return fmt.Errorf("dispatcher: MaxCatchUp %d, QueueLen %d and RetryDelay %v must be positive", c.MaxCatchUp, c.QueueLen, c.RetryDelay)
	}
	return nil
}

// log is what the dispatcher needs from the log: its readers.
type log interface {
	Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error)
}

// Dispatcher hands out subscriptions to virtual channels, sharing one
// reader per physical channel. See the package documentation.
type Dispatcher struct {
	cfg    Config
	log    log
	logger *slog.Logger
	slots  chan struct{} // one token per open catch-up reader
	ctx    context.Context
	cancel context.CancelFunc

	wgMu   sync.Mutex // guards closed and wg.Go against Close's wg.Wait; a leaf lock
	closed bool
	wg     sync.WaitGroup

	mu       sync.Mutex // guards channels
	channels map[string]*channel
}

// New returns a dispatcher reading from l. A nil logger discards.
func New(cfg Config, l log, logger *slog.Logger) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{cfg: cfg, log: l, logger: logger.With("component", "dispatcher"),
		slots: make(chan struct{}, cfg.MaxCatchUp), ctx: ctx, cancel: cancel, channels: map[string]*channel{}}, nil
}

// Close stops every reader and waits for them; open subscriptions return
// logbroker.ErrClosed from Next.
func (d *Dispatcher) Close() error {
	d.wgMu.Lock()
	d.closed = true
	d.wgMu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}

// spawn runs f on a goroutine Close waits for; false once closed.
func (d *Dispatcher) spawn(f func()) bool {
	d.wgMu.Lock()
	defer d.wgMu.Unlock()
	if d.closed {
		return false
	}
	d.wg.Go(f)
	return true
}

func (d *Dispatcher) channel(name string) *channel {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.channels[name]
	if !ok {
		c = &channel{d: d, name: name}
		d.channels[name] = c
	}
	return c
}

// Readers returns how many shared and catch-up readers are open.
func (d *Dispatcher) Readers() (shared, catchUp int) {
	d.mu.Lock()
	chans := make([]*channel, 0, len(d.channels))
	for _, c := range d.channels {
		chans = append(chans, c)
	}
	d.mu.Unlock()
	for _, c := range chans {
		c.mu.Lock()
		if c.run != nil {
			shared++
		}
		c.mu.Unlock()
	}
	return shared, len(d.slots)
}

// Subscribe returns a reader of vchannel's messages (and the ticks of
// pchannel) after position after; 0 reads from the oldest retained
// message. It fails as logbroker.Log.Read does (ErrTruncated when after is
// below the channel's truncation point), or with ctx's error while it
// waits for a catch-up slot.
func (d *Dispatcher) Subscribe(ctx context.Context, pchannel, vchannel string, after logbroker.MessageID) (*Subscription, error) {
	c := d.channel(pchannel)
	s := &Subscription{d: d, ch: c, vchannel: vchannel, q: make(chan logbroker.Message, d.cfg.QueueLen),
		wake: make(chan struct{}, 1), done: make(chan struct{}), last: after}
	for {
		if d.ctx.Err() != nil {
			return nil, fmt.Errorf("dispatcher: subscribe to %s: %w", vchannel, logbroker.ErrClosed)
		}
		c.mu.Lock()
		if r := c.run; r != nil {
			if r.routed <= after {
				c.joinLocked(r, s, after)
				c.mu.Unlock()
				return s, nil
			}
			c.mu.Unlock()
			return d.catchUp(ctx, s, after)
		}
		if st := c.starting; st != nil {
			c.mu.Unlock()
			select {
			case <-st:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		// Idle channel: the shared reader starts at this subscription.
		st := make(chan struct{})
		c.starting = st
		c.mu.Unlock()
		rd, err := d.log.Read(ctx, pchannel, after)
		c.mu.Lock()
		c.starting = nil
		close(st)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("dispatcher: subscribe to %s: %w", vchannel, err)
		}
		r := c.startLocked(rd, after, 0)
		if r == nil {
			c.mu.Unlock()
			rd.Close()
			return nil, fmt.Errorf("dispatcher: subscribe to %s: %w", vchannel, logbroker.ErrClosed)
		}
		c.joinLocked(r, s, after)
		c.mu.Unlock()
		return s, nil
	}
}

// catchUp opens a catch-up reader for s, which is behind its channel's
// shared reader.
func (d *Dispatcher) catchUp(ctx context.Context, s *Subscription, after logbroker.MessageID) (*Subscription, error) {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-d.ctx.Done():
		return nil, fmt.Errorf("dispatcher: subscribe to %s: %w", s.vchannel, logbroker.ErrClosed)
	}
	rd, err := d.log.Read(ctx, s.ch.name, after)
	if err != nil {
		<-d.slots
		return nil, fmt.Errorf("dispatcher: subscribe to %s: %w", s.vchannel, err)
	}
	sctx, cancel := context.WithCancel(d.ctx)
	s.mu.Lock()
	s.soloPos, s.soloCancel = after, cancel
	s.mu.Unlock()
	if !d.spawn(func() { s.catchUp(sctx, rd, after) }) {
		cancel()
		rd.Close()
		<-d.slots
		return nil, fmt.Errorf("dispatcher: subscribe to %s: %w", s.vchannel, logbroker.ErrClosed)
	}
	return s, nil
}

// terminal reports a reader error that retrying cannot cure.
func terminal(err error) bool {
	return errors.Is(err, logbroker.ErrTruncated) || errors.Is(err, logbroker.ErrClosed) || errors.Is(err, logbroker.ErrNoSuchChannel)
}

// reopen opens a reader of channel after pos once RetryDelay has passed,
// again and again while that fails with a transient error. It returns nil
// when ctx ends.
func (d *Dispatcher) reopen(ctx context.Context, channel string, pos logbroker.MessageID) (logbroker.Reader, error) {
	for {
		t := time.NewTimer(d.cfg.RetryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-t.C:
		}
		rd, err := d.log.Read(ctx, channel, pos)
		if err == nil || terminal(err) {
			return rd, err
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		d.logger.Warn("reopen reader, retrying", "pchannel", channel, "after", pos, "err", err)
	}
}
