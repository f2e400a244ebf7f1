package streaming

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

// timestamps allocates hybrid timestamps (rootcoord).
type timestamps interface {
	AllocTimestamp(ctx context.Context, count uint32) (uint64, error)
}

// segments assigns and seals segments (datacoord).
type segments interface {
	AssignSegment(ctx context.Context, collection, partition int64, vchannel string, rows, bytes int64, position uint64) (contract.Assignment, error)
	SealChannel(ctx context.Context, collection int64, vchannel string, sealTS uint64) ([]int64, error)
	IdleChannels(ctx context.Context, now time.Time) ([]string, error)
	SealedSegments(ctx context.Context) ([]model.Segment, error)
}

// Config tunes the writer.
type Config struct {
	// TickDelay is how long after a DML burst the channel gets its tick.
	TickDelay time.Duration
	// IdleCheck is how often idle growing segments are looked for.
	IdleCheck time.Duration
}

// Default returns the defaults.
func Default() Config { return Config{TickDelay: 50 * time.Millisecond, IdleCheck: 30 * time.Second} }

// owner says whether this writer may write a pchannel now, and under
// which term (cluster mode: streamingcoord.Ownership). It is consulted
// under the channel's lock before every append.
type owner interface {
	Check(pchannel string) (term int64, err error)
}

// fencing is a log that fences an old writer of a channel in the log
// itself (logbroker.Fencing): the writer appends through a producer opened
// under its ownership term, so an append of a writer that lost the channel
// (paused between its ownership check and its append, or whose append
// outlived its deadline) never lands after the next writer's first.
type fencing interface {
	Producer(ctx context.Context, channel string, epoch int64) (logbroker.Producer, error)
}

// Deps are the writer's collaborators.
type Deps struct {
	// Log is the log written; when it implements logbroker.Fencing every
	// append goes through a producer fenced by the ownership term.
	Log      logbroker.Log
	TSO      timestamps
	Segments segments
	// Owner fences the writer when several streaming nodes share the
	// pchannels; nil: this writer is the only one (standalone).
	Owner owner
	// Unfenced appends without a producer even when Log fences: the log
	// has no other writer (standalone's embedded log, one process holding
	// its directory). A fenced append makes the log server read the
	// channel's last message back at every append, which keeps the
	// embedded store's blocks in memory (logbroker/tail.go).
	Unfenced bool
	Logger   *slog.Logger
}

// Writer appends DML to physical channels.
type Writer struct {
	cfg    Config
	log    logbroker.Log
	fence  fencing // nil: the log does not fence
	tso    timestamps
	segs   segments
	owner  owner
	logger *slog.Logger

	mu       sync.Mutex // guards channels
	channels map[string]*channel
	dirty    chan struct{} // coalescing signal: some channel needs a tick
}

type channel struct {
	name string

	mu       sync.Mutex // serialises appends; guards the fields below
	lastID   logbroker.MessageID
	lastTS   uint64
	tickTS   uint64 // timestamp of the last tick written
	needTick bool
	loaded   bool
	term     int64 // the ownership term the loaded state belongs to
	// prod appends under term when the log fences (nil otherwise);
	// fenced: the log refused it, a newer writer has appended.
	prod   logbroker.Producer
	fenced bool
	// pending holds Seal messages for segments the data coordinator has
	// already sealed but whose append failed. They are appended before
	// any other message of the channel: without its Seal a segment is
	// never flushed, and its successor's rows would precede the Seal.
	pending []*msg.Message
}

// New returns a writer; Run must be running for delayed ticks and idle seals.
func New(cfg Config, d Deps) *Writer {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{cfg: cfg, log: d.Log, tso: d.TSO, segs: d.Segments, owner: d.Owner, logger: d.Logger.With("component", "streaming"),
		channels: map[string]*channel{}, dirty: make(chan struct{}, 1)}
	if !d.Unfenced {
		w.fence, _ = d.Log.(fencing)
	}
	return w
}

func (w *Writer) channel(name string) *channel {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.channels[name]
	if !ok {
		c = &channel{name: name}
		w.channels[name] = c
	}
	return c
}

// lockChannel locks a channel, loading its state on first use and
// whenever this writer took it (again) from another: its last position
// and timestamp in the log and the Seals owed to it.
func (w *Writer) lockChannel(ctx context.Context, name string) (*channel, error) {
	c := w.channel(name)
	c.mu.Lock()
	if w.owner != nil {
		term, err := w.owner.Check(name)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("streaming: %w", err)
		}
		if term != c.term {
			c.loaded, c.term, c.fenced = false, term, false
		}
	}
	if c.fenced {
		c.mu.Unlock()
		return nil, fmt.Errorf("streaming: %s: the log fenced this writer: %w", name, errs.ChannelMisrouted(name, 0, 0))
	}
	if !c.loaded {
		// The producer is opened first: what it reads as last is at or
		// before the position read next.
		var prod logbroker.Producer
		if w.fence != nil {
			var err error
			if prod, err = w.fence.Producer(ctx, name, c.term); err != nil {
				c.mu.Unlock()
				if errors.Is(err, logbroker.ErrFenced) {
					return nil, fmt.Errorf("streaming: %s: a newer writer has appended: %w", name, errs.ChannelMisrouted(name, 0, 0))
				}
				return nil, fmt.Errorf("streaming: producer of %s: %w", name, err)
			}
		}
		id, err := w.log.Latest(ctx, name)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("streaming: position of %s: %w", name, err)
		}
		// The last timestamp only arms the order check in appendOne (the
		// TSO already guarantees the order): a slow log does not hold up
		// the take-over.
		lastTS, err := w.lastTimestamp(ctx, name, id)
		if err != nil {
			w.logger.Warn("last timestamp of the channel unknown: the order check starts with this writer's appends", "pchannel", name, "err", err)
		}
		seals, err := w.unloggedSeals(ctx, name)
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.lastID, c.loaded, c.prod = id, true, prod
		c.lastTS = max(c.lastTS, lastTS)
		c.tickTS, c.needTick = 0, false
		// Seals owed are the data coordinator's to tell: a list left from
		// an earlier term would only repeat them.
		c.pending = seals
	}
	return c, nil
}

// lastTimestamp returns the timestamp of the message at id in pchannel (0
// when there is none or it was truncated): timestamps of the messages this
// writer appends must be larger.
func (w *Writer) lastTimestamp(ctx context.Context, pchannel string, id logbroker.MessageID) (uint64, error) {
	if id == 0 {
		return 0, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if lm, ok := w.log.(logbroker.LastMessager); ok {
		// The message at id may be one readers skip (a fenced Kafka
		// append): reading it would wait out rctx for the next append.
		m, found, err := lm.LastMessage(rctx, pchannel, id)
		if err != nil {
			return 0, fmt.Errorf("streaming: last message of %s: %w", pchannel, err)
		}
		if !found {
			return 0, nil
		}
		return decodedTS(pchannel, m)
	}
	r, err := w.log.Read(rctx, pchannel, id-1)
	if errors.Is(err, logbroker.ErrTruncated) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("streaming: read the last message of %s: %w", pchannel, err)
	}
	defer r.Close()
	m, err := r.Next(rctx)
	if errors.Is(err, logbroker.ErrTruncated) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("streaming: read the last message of %s: %w", pchannel, err)
	}
	return decodedTS(pchannel, m)
}

// decodedTS is the timestamp of pchannel's message m.
func decodedTS(pchannel string, m logbroker.Message) (uint64, error) {
	dm, err := msg.Decode(m.Payload, m.Properties)
	if err != nil {
		return 0, fmt.Errorf("streaming: decode the last message of %s: %w", pchannel, err)
	}
	return dm.TS, nil
}

// Release stops writing pchannel until it is locked again under a new
// term (cluster mode: its writer moved to another streaming node). When it
// returns, the channel's last append has returned.
func (w *Writer) Release(_ context.Context, pchannel string) {
	c := w.channel(pchannel)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loaded, c.needTick, c.pending, c.prod = false, false, nil, nil
}

// unloggedSeals returns Seal messages for the segments of pchannel that
// the data coordinator has sealed but that are not flushed: a previous
// writer may have crashed before logging their Seal, without which the
// data node would never flush them. A Seal logged twice is harmless.
func (w *Writer) unloggedSeals(ctx context.Context, pchannel string) ([]*msg.Message, error) {
	type key struct {
		vchannel   string
		collection int64
	}
	byKey := map[key][]int64{}
	var order []key
	sealed, err := w.segs.SealedSegments(ctx)
	if err != nil {
		return nil, fmt.Errorf("streaming: sealed segments: %w", err)
	}
	for _, seg := range sealed {
		if PChannelOf(seg.VChannel) != pchannel {
			continue
		}
		k := key{seg.VChannel, seg.CollectionID}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], seg.ID)
	}
	var out []*msg.Message
	for _, k := range order {
		out = append(out, &msg.Message{Kind: msg.KindSeal, VChannel: k.vchannel, Seal: &msg.Seal{CollectionID: k.collection, SegmentIDs: byKey[k]}})
	}
	return out, nil
}

// appendLocked appends the channel's pending Seal messages, then m, each
// stamped with a fresh timestamp.
func (w *Writer) appendLocked(ctx context.Context, c *channel, m *msg.Message) (logbroker.MessageID, error) {
	if err := w.appendPendingLocked(ctx, c); err != nil {
		return 0, err
	}
	return w.appendOne(ctx, c, m)
}

func (w *Writer) appendPendingLocked(ctx context.Context, c *channel) error {
	for len(c.pending) > 0 {
		if _, err := w.appendOne(ctx, c, c.pending[0]); err != nil {
			return err
		}
		c.pending = c.pending[1:]
	}
	return nil
}

// appendSealLocked appends a Seal message for segments the data
// coordinator has sealed; if that fails, the Seal stays pending.
func (w *Writer) appendSealLocked(ctx context.Context, c *channel, m *msg.Message) error {
	if _, err := w.appendLocked(ctx, c, m); err != nil {
		c.pending = append(c.pending, m)
		return err
	}
	return nil
}

func (w *Writer) appendOne(ctx context.Context, c *channel, m *msg.Message) (logbroker.MessageID, error) {
	ts, err := w.tso.AllocTimestamp(ctx, 1)
	if err != nil {
		return 0, err
	}
	if ts <= c.lastTS {
		// The TSO never goes back, so this means two writers of the
		// channel or a clock reset: refuse rather than break the order.
		return 0, fmt.Errorf("streaming: timestamp %d of %s is not above the channel's last %d", ts, c.name, c.lastTS)
	}
	m.TS = ts
	if m.Insert != nil {
		m.Insert.Timestamps = nil
	}
	payload, props, err := msg.Encode(m)
	if err != nil {
		return 0, err
	}
	// Checked again right before the append: the process may have been
	// stopped (SIGSTOP, a VM freeze) since the channel was locked, long
	// enough for the channel to have another writer.
	if w.owner != nil {
		if term, err := w.owner.Check(c.name); err != nil {
			return 0, fmt.Errorf("streaming: %w", err)
		} else if term != c.term {
			return 0, fmt.Errorf("streaming: %w", errs.ChannelMisrouted(c.name, 0, 0))
		}
	}
	var id logbroker.MessageID
	if c.prod != nil {
		id, err = c.prod.Append(ctx, payload, props)
	} else {
		id, err = w.log.Append(ctx, c.name, payload, props)
	}
	if errors.Is(err, logbroker.ErrFenced) {
		// Another writer has appended since this one's ownership check:
		// it stops writing the channel until it takes it again.
		c.fenced, c.loaded, c.prod = true, false, nil
		w.logger.Warn("the log fenced this writer: a newer writer appended to the channel", "pchannel", c.name, "term", c.term, "err", err)
		return 0, fmt.Errorf("streaming: append %s to %s: %w", m.Kind, c.name, errs.ChannelMisrouted(c.name, 0, 0))
	}
	if errors.Is(err, logbroker.ErrFull) {
		// Refused as Milvus refuses writes over its disk quota; the cause
		// stays in the server's log.
		if m.Kind != msg.KindTimeTick { // ticks are retried every second: not worth a warning each
			w.logger.Warn("the log is full: write refused", "channel", c.name, "kind", m.Kind, "err", err)
		}
		return 0, errs.QuotaExceeded(logFullReason)
	}
	if err != nil {
		return 0, fmt.Errorf("streaming: append %s to %s: %w", m.Kind, c.name, err)
	}
	c.lastID, c.lastTS = id, ts
	if m.Kind == msg.KindTimeTick {
		c.tickTS, c.needTick = ts, false
	} else if !c.needTick {
		c.needTick = true
		select {
		case w.dirty <- struct{}{}:
		default:
		}
	}
	return id, nil
}

// AppendInsert assigns a segment and appends an insert or upsert message.
func (w *Writer) AppendInsert(ctx context.Context, pchannel string, in contract.Insert) (contract.AppendResult, error) {
	c, err := w.lockChannel(ctx, pchannel)
	if err != nil {
		return contract.AppendResult{}, err
	}
	defer c.mu.Unlock()
	a, err := w.segs.AssignSegment(ctx, in.CollectionID, in.PartitionID, in.VChannel, in.Rows, in.Bytes, uint64(c.lastID))
	if err != nil {
		return contract.AppendResult{}, err
	}
	if len(a.Seal) > 0 {
		seal := &msg.Message{Kind: msg.KindSeal, VChannel: in.VChannel, Seal: &msg.Seal{CollectionID: in.CollectionID, SegmentIDs: a.Seal}}
		if err := w.appendSealLocked(ctx, c, seal); err != nil {
			return contract.AppendResult{}, err
		}
		// The new segment starts after the seal message.
		w.logger.Debug("sealed full segments", "vchannel", in.VChannel, "segments", a.Seal)
	}
	in.Message.Insert.SegmentID = a.SegmentID
	id, err := w.appendLocked(ctx, c, in.Message)
	if err != nil {
		return contract.AppendResult{}, err
	}
	return contract.AppendResult{ID: id, TS: in.Message.TS, SegmentID: a.SegmentID}, nil
}

// AppendDelete appends a delete message.
func (w *Writer) AppendDelete(ctx context.Context, pchannel string, m *msg.Message) (contract.AppendResult, error) {
	c, err := w.lockChannel(ctx, pchannel)
	if err != nil {
		return contract.AppendResult{}, err
	}
	defer c.mu.Unlock()
	id, err := w.appendLocked(ctx, c, m)
	if err != nil {
		return contract.AppendResult{}, err
	}
	return contract.AppendResult{ID: id, TS: m.TS}, nil
}

// Seal seals a collection's growing segments in vchannel (every collection
// when collection is 0) and logs the Seal message. It returns the sealed
// segment IDs and the Seal message's timestamp.
//
// The Seal of a named collection (a Flush) is logged even when no segment
// is growing, as Milvus's flush logs a flush message on every channel:
// reading it, the data node writes the channel's buffered deletes to a
// delete log and saves the channel's checkpoint at the Seal, so the
// checkpoint passes the returned timestamp without waiting for a time
// tick that an idle channel may never get (GetFlushState waits for it).
// An idle-segment seal (collection 0) with nothing to seal logs nothing.
func (w *Writer) Seal(ctx context.Context, pchannel, vchannel string, collection int64) ([]int64, uint64, error) {
	c, err := w.lockChannel(ctx, pchannel)
	if err != nil {
		return nil, 0, err
	}
	defer c.mu.Unlock()
	ts, err := w.tso.AllocTimestamp(ctx, 1)
	if err != nil {
		return nil, 0, err
	}
	ids, err := w.segs.SealChannel(ctx, collection, vchannel, ts)
	if err != nil {
		return nil, 0, err
	}
	if len(ids) == 0 && collection == 0 {
		// Nothing to seal now; Seals still owed go out.
		if err := w.appendPendingLocked(ctx, c); err != nil {
			return nil, 0, err
		}
		return nil, ts, nil
	}
	m := &msg.Message{Kind: msg.KindSeal, VChannel: vchannel, Seal: &msg.Seal{CollectionID: collection, SegmentIDs: ids}}
	if len(ids) == 0 {
		// No segment waits for it: if the append fails the Flush fails,
		// and nothing is owed.
		if _, err := w.appendLocked(ctx, c, m); err != nil {
			return nil, 0, err
		}
		return nil, m.TS, nil
	}
	if err := w.appendSealLocked(ctx, c, m); err != nil {
		return nil, 0, err
	}
	return ids, m.TS, nil
}

// FlushAll seals every growing segment of the given virtual channels of
// pchannel (its collections' channels, as the caller listed them) and logs
// one FlushAll message for the whole physical channel, even when nothing
// was growing: Milvus 2.6's FlushAll appends one to every physical channel
// (the streaming node seals the channel's segments when it appends it).
// Reading it, the data node flushes the listed segments and every
// channel's buffered deletes and saves each channel's checkpoint at the
// message, so the checkpoints pass its timestamp without waiting for a
// time tick (GetFlushAllState waits for that). It returns where the
// message landed. If the append fails, the segments already sealed are
// owed their Seals (pending), as Seal's are.
func (w *Writer) FlushAll(ctx context.Context, pchannel string, vchannels []contract.VChannel) (contract.AppendResult, error) {
	c, err := w.lockChannel(ctx, pchannel)
	if err != nil {
		return contract.AppendResult{}, err
	}
	defer c.mu.Unlock()
	ts, err := w.tso.AllocTimestamp(ctx, 1)
	if err != nil {
		return contract.AppendResult{}, err
	}
	m := &msg.Message{Kind: msg.KindFlushAll, FlushAll: make([]msg.ChannelSeal, 0, len(vchannels))}
	owe := func() {
		for _, cs := range m.FlushAll {
			if len(cs.SegmentIDs) > 0 {
				c.pending = append(c.pending, &msg.Message{Kind: msg.KindSeal, VChannel: cs.VChannel, Seal: &msg.Seal{CollectionID: cs.CollectionID, SegmentIDs: cs.SegmentIDs}})
			}
		}
	}
	for _, vc := range vchannels {
		if PChannelOf(vc.Name) != pchannel {
			return contract.AppendResult{}, fmt.Errorf("streaming: flush all of %s: virtual channel %s is not on it", pchannel, vc.Name)
		}
		ids, err := w.segs.SealChannel(ctx, vc.CollectionID, vc.Name, ts)
		if err != nil {
			owe()
			return contract.AppendResult{}, err
		}
		m.FlushAll = append(m.FlushAll, msg.ChannelSeal{VChannel: vc.Name, Seal: msg.Seal{CollectionID: vc.CollectionID, SegmentIDs: ids}})
	}
	id, err := w.appendLocked(ctx, c, m)
	if err != nil {
		owe()
		return contract.AppendResult{}, err
	}
	return contract.AppendResult{ID: id, TS: m.TS}, nil
}

// SyncTo makes sure pchannel has a time tick at or above ts, writing one
// if needed, so that readers' service time can pass ts.
func (w *Writer) SyncTo(ctx context.Context, pchannel string, ts uint64) error {
	c, err := w.lockChannel(ctx, pchannel)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.tickTS >= ts && !c.needTick && len(c.pending) == 0 {
		return nil
	}
	_, err = w.appendLocked(ctx, c, &msg.Message{Kind: msg.KindTimeTick})
	return err
}

// LogEnd is the timestamp of the last message this writer appended to
// pchannel and the log acknowledged (0: none since it started). Every
// write acknowledged on the channel is at or before it, so when a tick
// cannot be appended (the log is full) a Strong read is served from a
// shard that has consumed up to it.
func (w *Writer) LogEnd(_ context.Context, pchannel string) (uint64, error) {
	c := w.channel(pchannel)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastTS, nil
}

// logFullReason is the reason of a write refused because the log has no
// room, in the words of Milvus's disk protection.
const logFullReason = "disk quota exceeded, please allocate more resources: the log's storage is full"

// Run writes delayed ticks and seals idle segments until ctx ends.
func (w *Writer) Run(ctx context.Context) error {
	idle := time.NewTicker(w.cfg.IdleCheck)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.dirty:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(w.cfg.TickDelay):
			}
			w.tickDirty(ctx)
		case now := <-idle.C:
			idleChans, err := w.segs.IdleChannels(ctx, now)
			if err != nil {
				w.logger.Warn("list idle channels", "err", err)
			}
			for _, vc := range idleChans {
				if _, _, err := w.Seal(ctx, PChannelOf(vc), vc, 0); err != nil && !errors.Is(err, errs.ErrChannelMisrouted) {
					w.logger.Warn("seal idle segments", "vchannel", vc, "err", err)
				}
			}
		}
	}
}

func (w *Writer) tickDirty(ctx context.Context) {
	w.mu.Lock()
	chans := make([]*channel, 0, len(w.channels))
	for _, c := range w.channels {
		chans = append(chans, c)
	}
	w.mu.Unlock()
	for _, c := range chans {
		c.mu.Lock()
		need := c.needTick
		c.mu.Unlock()
		if !need {
			continue
		}
		c, err := w.lockChannel(ctx, c.name)
		if err != nil {
			continue // moved to another writer
		}
		if c.needTick {
			if _, err := w.appendLocked(ctx, c, &msg.Message{Kind: msg.KindTimeTick}); err != nil {
				w.logger.Warn("write time tick", "pchannel", c.name, "err", err)
			}
		}
		c.mu.Unlock()
	}
}

// PChannelOf returns the physical channel of a virtual channel named
// "<pchannel>_<collection>v<shard>".
func PChannelOf(vchannel string) string {
	for i := len(vchannel) - 1; i >= 0; i-- {
		if vchannel[i] == '_' {
			return vchannel[:i]
		}
	}
	return vchannel
}
