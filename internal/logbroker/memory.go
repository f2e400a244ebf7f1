package logbroker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
)

// DefaultMaxMessageBytes is the payload limit of Memory and of the embedded
// NATS server unless configured otherwise: 8 MiB minus the 4 KiB reserved
// for properties (NATS counts headers against its max_payload).
const DefaultMaxMessageBytes = DefaultMaxPayload - propsReserve

// DefaultMaxPayload is the embedded NATS server's max_payload: 8 MiB, the
// largest value nats-server accepts without a warning (its default is 1 MiB).
const DefaultMaxPayload = 8 << 20

// MaxPropertiesBytes bounds a message's properties, encoded as NATS header
// lines ("P-key: value\r\n", bytes outside a safe set escaped as %XX).
// Append returns ErrTooLarge beyond it in every backend alike.
const MaxPropertiesBytes = 3 << 10

// propsReserve is the part of a broker message reserved for headers: the
// properties and NATS's own; MaxMessageBytes is the broker limit minus this.
const propsReserve = 4 << 10

// MemoryConfig configures a Memory log.
type MemoryConfig struct {
	// MaxMessageBytes is the largest payload Append accepts.
	// 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int
}

// Memory is an in-memory Log for fast tests of the data path. It implements
// the whole contract, including blocking reads and truncation, and numbers
// messages with one sequence shared by all channels, as the NATS backend
// does, so IDs are strictly increasing per channel but not contiguous.
// Nothing survives Close.
type Memory struct {
	maxBytes int
	done     chan struct{} // closed by Close

	mu     sync.Mutex // guards everything below
	closed bool
	seq    MessageID // last ID handed out, over all channels
	chans  map[string]*memChannel
}

// memChannel is one channel of a Memory log. Guarded by Memory.mu.
type memChannel struct {
	msgs   []Message // retained messages, ascending IDs
	last   MessageID // last ID appended, 0 if none
	tag    fenceTag  // the fence tag of the message at last
	tagged bool
	trunc  MessageID     // truncation point: IDs <= trunc are gone
	wake   chan struct{} // closed (and replaced) when msgs or trunc change
}

var (
	_ Log     = (*Memory)(nil)
	_ Fencing = (*Memory)(nil)
)

// NewMemory returns an empty in-memory log.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return &Memory{
		maxBytes: cfg.MaxMessageBytes,
		done:     make(chan struct{}),
		chans:    make(map[string]*memChannel),
	}
}

// channel returns the named channel, creating it. m.mu must be held.
func (m *Memory) channel(name string) *memChannel {
	c := m.chans[name]
	if c == nil {
		c = &memChannel{wake: make(chan struct{})}
		m.chans[name] = c
	}
	return c
}

// notify wakes every reader blocked on c. m.mu must be held.
func (c *memChannel) notify() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// Append implements Log.
func (m *Memory) Append(ctx context.Context, channel string, payload []byte, props map[string]string) (MessageID, error) {
	return m.append(ctx, channel, 0, nil, payload, props)
}

// Producer implements Fencing.
func (m *Memory) Producer(ctx context.Context, channel string, epoch int64) (Producer, error) {
	if err := checkChannel(channel); err != nil {
		return nil, fmt.Errorf("logbroker: producer of %q: %w", channel, err)
	}
	return openFenced(ctx, m, channel, epoch)
}

func (m *Memory) appendIf(ctx context.Context, channel string, expect MessageID, tag fenceTag, payload []byte, props map[string]string) (MessageID, error) {
	return m.append(ctx, channel, expect, &tag, payload, props)
}

func (m *Memory) lastTag(ctx context.Context, channel string) (MessageID, fenceTag, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, fenceTag{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fenceTag{}, false, ErrClosed
	}
	c := m.channel(channel)
	return c.last, c.tag, c.tagged, nil
}

// append appends; with a tag, only if the channel's last ID is expect.
func (m *Memory) append(ctx context.Context, channel string, expect MessageID, tag *fenceTag, payload []byte, props map[string]string) (MessageID, error) {
	if err := checkChannel(channel); err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	if len(payload) > m.maxBytes {
		return 0, fmt.Errorf("logbroker: append to %q: %d bytes > %d: %w", channel, len(payload), m.maxBytes, ErrTooLarge)
	}
	if n := propsSize(props); n > MaxPropertiesBytes {
		return 0, fmt.Errorf("logbroker: append to %q: properties take %d bytes > %d: %w", channel, n, MaxPropertiesBytes, ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	msg := Message{Payload: slices.Clone(payload), Properties: cloneProps(props)}
	if msg.Payload == nil {
		msg.Payload = []byte{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, ErrClosed)
	}
	c := m.channel(channel)
	if tag != nil && c.last != expect {
		return 0, fmt.Errorf("logbroker: append to %q expecting %d after %d: %w", channel, expect, c.last, errWrongLast)
	}
	m.seq++
	msg.ID = m.seq
	c.msgs = append(c.msgs, msg)
	c.last = msg.ID
	c.tag, c.tagged = fenceTag{}, tag != nil
	if tag != nil {
		c.tag = *tag
	}
	c.notify()
	return msg.ID, nil
}

// Read implements Log.
func (m *Memory) Read(ctx context.Context, channel string, after MessageID) (Reader, error) {
	if err := checkChannel(channel); err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, ErrClosed)
	}
	c := m.channel(channel)
	if after == 0 {
		after = c.trunc
	} else if after < c.trunc {
		return nil, fmt.Errorf("logbroker: read %q after %d (truncated up to %d): %w", channel, after, c.trunc, ErrTruncated)
	}
	return &memReader{m: m, name: channel, c: c, pos: after, stop: make(chan struct{})}, nil
}

// Latest implements Log.
func (m *Memory) Latest(ctx context.Context, channel string) (MessageID, error) {
	if err := checkChannel(channel); err != nil {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, ErrClosed)
	}
	c := m.chans[channel]
	if c == nil {
		return 0, nil
	}
	return max(c.last, c.trunc), nil
}

// Truncate implements Log.
func (m *Memory) Truncate(ctx context.Context, channel string, upTo MessageID) error {
	if err := checkChannel(channel); err != nil {
		return fmt.Errorf("logbroker: truncate %q: %w", channel, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("logbroker: truncate %q: %w", channel, ErrClosed)
	}
	c := m.channel(channel)
	upTo = min(upTo, c.last)
	if upTo <= c.trunc {
		return nil
	}
	c.trunc = upTo
	i := sort.Search(len(c.msgs), func(i int) bool { return c.msgs[i].ID > upTo })
	c.msgs = slices.Clone(c.msgs[i:]) // let the truncated payloads go
	c.notify()
	return nil
}

// MaxMessageBytes implements Log.
func (m *Memory) MaxMessageBytes() int { return m.maxBytes }

// Close implements Log. Blocked readers return ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.done)
	}
	return nil
}

// memReader reads one channel of a Memory log.
type memReader struct {
	m        *Memory
	name     string
	c        *memChannel
	stop     chan struct{} // closed by Close
	stopOnce sync.Once

	mu     sync.Mutex // guards pos and closed; Next calls are serialised by it
	pos    MessageID  // last ID returned (or the Read's after)
	closed bool
}

// Next implements Reader.
func (r *memReader) Next(ctx context.Context) (Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.closed {
			return Message{}, fmt.Errorf("logbroker: next on %q: reader %w", r.name, ErrClosed)
		}
		msg, wake, err := r.poll()
		if err != nil || wake == nil {
			return msg, err
		}
		select {
		case <-wake:
		case <-r.m.done:
		case <-r.stop:
			// Close sets closed only once it gets r.mu, which this Next
			// holds: looping would spin until ctx ends.
			return Message{}, fmt.Errorf("logbroker: next on %q: reader %w", r.name, ErrClosed)
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// poll returns the next message, an error, or a channel closed when there
// may be one.
func (r *memReader) poll() (Message, <-chan struct{}, error) {
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Message{}, nil, fmt.Errorf("logbroker: next on %q: %w", r.name, ErrClosed)
	}
	c := r.c
	if r.pos < c.trunc {
		return Message{}, nil, fmt.Errorf("logbroker: next on %q after %d (truncated up to %d): %w", r.name, r.pos, c.trunc, ErrTruncated)
	}
	i := sort.Search(len(c.msgs), func(i int) bool { return c.msgs[i].ID > r.pos })
	if i == len(c.msgs) {
		return Message{}, c.wake, nil
	}
	msg := c.msgs[i]
	r.pos = msg.ID
	msg.Payload = slices.Clone(msg.Payload)
	msg.Properties = cloneProps(msg.Properties)
	return msg, nil, nil
}

// Close implements Reader. A Next blocked in another goroutine returns
// ErrClosed.
func (r *memReader) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// checkChannel rejects channel names no backend can store.
func checkChannel(name string) error {
	if name == "" {
		return fmt.Errorf("empty channel name: %w", ErrNoSuchChannel)
	}
	return nil
}

// cloneProps copies props; nil and empty both become nil.
func cloneProps(props map[string]string) map[string]string {
	if len(props) == 0 {
		return nil
	}
	return maps.Clone(props)
}
