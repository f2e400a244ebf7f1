package logbroker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Kafka log fence (docs/log-fencing.md, "Kafka: readers fence").
//
// Kafka has no conditional produce, so a stale writer's record cannot be
// refused by the broker. Instead every record of a producer says what its
// writer knew when it sent it, and every reader (and the writer itself,
// before it acknowledges) decides from the log alone whether the record
// counts. All of them see one order of records, so all decide alike.
//
// A fenced record carries two headers: kafkaFenceHeader, the producer's
// tag (epoch, nonce, call number), and kafkaPrevHeader, the ID of the
// last message the producer knew when it sent the record (what it read
// when it opened, or its own last acknowledged append). A record is
// contiguous when that is the ID just before its own: nothing landed
// between what its writer knew and it.
//
// The state of a channel after a message is (epoch, nonce, id) of the
// last accepted tagged record (the channel's current writer). A record is
// accepted when:
//   - it is untagged (a plain Append): always, the state is unchanged;
//   - it is contiguous: always (its writer knew the state just before it
//     and would not have appended under a lower epoch);
//   - otherwise, by its epoch e against the state's epoch M: e > M: a newer
//     writer, accepted; e < M: a stale writer, skipped; e = M: accepted if
//     it is the current writer (same nonce: its earlier append whose
//     outcome was unknown landed in between) or if its writer knew the
//     current writer's last record (prev >= its id: a producer reopened
//     under the same epoch adopts it); skipped otherwise (two producers
//     of one epoch: the second to land after the other loses).
//
// An accepted tagged record becomes the state. Readers need the state only
// at a non-contiguous record, which is rare (a race of writers, or an
// append after one whose outcome was unknown); they then rebuild it by
// reading back to the last contiguous record (an anchor). Truncate keeps
// the record that holds the state at its point (the last accepted tagged
// record at or before it) stored, so the state is always in the log;
// readers of the truncating Log value do not return it.

const (
	kafkaFenceHeader = "milvago.fence"
	kafkaPrevHeader  = "milvago.fence.prev"
)

// kafkaFenceState is a channel's fence state after some message.
type kafkaFenceState struct {
	epoch int64
	nonce uint64
	id    MessageID // of the last accepted tagged record; 0: none yet
}

// kafkaFence is what a record says about its writer.
type kafkaFence struct {
	tag    fenceTag
	prev   MessageID
	tagged bool
}

// recordFence reads a record's fence headers. A record with malformed
// headers counts as untagged.
func recordFence(rec *kgo.Record) kafkaFence {
	var tagRaw, prevRaw string
	var haveTag, havePrev bool
	for _, h := range rec.Headers {
		switch h.Key {
		case kafkaFenceHeader:
			tagRaw, haveTag = string(h.Value), true
		case kafkaPrevHeader:
			prevRaw, havePrev = string(h.Value), true
		}
	}
	if !haveTag || !havePrev {
		return kafkaFence{}
	}
	tag, ok := parseFenceTag(tagRaw)
	prev, err := strconv.ParseUint(prevRaw, 10, 64)
	if !ok || err != nil {
		return kafkaFence{}
	}
	return kafkaFence{tag: tag, prev: MessageID(prev), tagged: true}
}

// contiguous reports whether the record at id was sent knowing the
// message right before it: it is an anchor.
func (f kafkaFence) contiguous(id MessageID) bool { return f.tagged && f.prev+1 == id }

// judge decides whether the record at id with fence f is accepted after
// state st, and returns the state after it.
func judge(st kafkaFenceState, id MessageID, f kafkaFence) (kafkaFenceState, bool) {
	if !f.tagged {
		return st, true
	}
	accept := false
	switch e := f.tag.epoch; {
	case f.contiguous(id), e > st.epoch:
		accept = true
	case e < st.epoch:
	default:
		accept = f.tag.nonce == st.nonce || f.prev >= st.id
	}
	if !accept {
		return st, false
	}
	return kafkaFenceState{epoch: f.tag.epoch, nonce: f.tag.nonce, id: id}, true
}

// fenceScanWindow is how many records a scan for the last anchor reads
// first; it grows 16 times at each further attempt.
const fenceScanWindow = 16

// fenceScanWait bounds one scan.
const fenceScanWait = 30 * time.Second

// scanFence returns the fence state of topic's channel after the message
// upTo: it reads back from upTo to the last anchor and replays the records
// after it (from the oldest retained record, with no state, if no anchor
// is retained).
func (k *Kafka) scanFence(ctx context.Context, topic string, upTo MessageID) (kafkaFenceState, error) {
	var st kafkaFenceState
	err := k.replayBack(ctx, topic, upTo, func(rec *kgo.Record) {
		st, _ = judge(st, MessageID(rec.Offset+1), recordFence(rec))
	})
	return st, err
}

// lastAccepted returns the last record up to upTo that readers return (nil:
// none retained), from the same read back to the last anchor as
// scanFence: the anchor itself is accepted, so it is at or after it.
func (k *Kafka) lastAccepted(ctx context.Context, topic string, upTo MessageID) (*kgo.Record, error) {
	var st kafkaFenceState
	var last *kgo.Record
	err := k.replayBack(ctx, topic, upTo, func(rec *kgo.Record) {
		var ok bool
		if st, ok = judge(st, MessageID(rec.Offset+1), recordFence(rec)); ok {
			last = rec
		}
	})
	return last, err
}

// replayBack hands each record from the last anchor at or before upTo
// (the oldest retained record if no anchor is retained) through upTo to
// replay, in order; with nothing retained up to upTo it calls nothing.
func (k *Kafka) replayBack(ctx context.Context, topic string, upTo MessageID, replay func(*kgo.Record)) error {
	if upTo == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, fenceScanWait)
	defer cancel()
	for window := MessageID(fenceScanWindow); ; window *= 16 {
		start, _, ok, err := k.offsets(ctx, topic)
		if err != nil {
			return err
		}
		if !ok || upTo <= start {
			return nil
		}
		// Records with IDs in (lo, upTo]: offsets lo .. upTo-1.
		lo := start
		if upTo > window && upTo-window > start {
			lo = upTo - window
		}
		recs, err := k.fetchRange(ctx, topic, lo, upTo)
		if errors.Is(err, ErrTruncated) {
			continue // truncated meanwhile: re-read the start
		}
		if err != nil {
			return err
		}
		anchor := -1
		for i := len(recs) - 1; i >= 0; i-- {
			if recordFence(recs[i]).contiguous(MessageID(recs[i].Offset + 1)) {
				anchor = i
				break
			}
		}
		if anchor < 0 && lo > start {
			continue // read further back
		}
		for _, rec := range recs[max(anchor, 0):] {
			replay(rec)
		}
		return nil
	}
}

var _ LastMessager = (*Kafka)(nil)

// LastMessage implements LastMessager. A record the fence skips is stored
// and takes an ID, so Latest can name a message no reader returns (a
// reader positioned before it would wait for the next append); this
// returns the last one readers do return, without waiting.
func (k *Kafka) LastMessage(ctx context.Context, channel string, upTo MessageID) (Message, bool, error) {
	topic, err := k.channelTopic(channel)
	if err != nil {
		return Message{}, false, fmt.Errorf("logbroker: last message of %q: %w", channel, err)
	}
	if k.isClosed() {
		return Message{}, false, fmt.Errorf("logbroker: last message of %q: %w", channel, ErrClosed)
	}
	_, end, ok, err := k.offsets(ctx, topic)
	if err != nil {
		return Message{}, false, fmt.Errorf("logbroker: last message of %q: %w", channel, err)
	}
	if !ok {
		return Message{}, false, nil
	}
	rec, err := k.lastAccepted(ctx, topic, min(upTo, end))
	if err != nil {
		return Message{}, false, fmt.Errorf("logbroker: last message of %q up to %d: %w", channel, upTo, err)
	}
	if rec == nil {
		return Message{}, false, nil
	}
	return recordMessage(rec), true, nil
}

// replayFence returns the fence state after upTo from the state st after
// from, reading the records in between.
func (k *Kafka) replayFence(ctx context.Context, topic string, from MessageID, st kafkaFenceState, upTo MessageID) (kafkaFenceState, error) {
	if upTo <= from {
		return st, nil
	}
	ctx, cancel := context.WithTimeout(ctx, fenceScanWait)
	defer cancel()
	recs, err := k.fetchRange(ctx, topic, from, upTo)
	if err != nil {
		return st, err
	}
	for _, rec := range recs {
		st, _ = judge(st, MessageID(rec.Offset+1), recordFence(rec))
	}
	return st, nil
}

// fetchRange reads the records of topic with IDs in (after, upTo] through
// a client of its own (only a fence scan needs this, rarely).
func (k *Kafka) fetchRange(ctx context.Context, topic string, after, upTo MessageID) ([]*kgo.Record, error) {
	opts := k.partitionReaderOpts(topic, after)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("fence scan of %s: %w", topic, err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	next := after // ID of the last record read
	for next < upTo {
		fetches := cl.PollRecords(ctx, int(upTo-next))
		if fetches.IsClientClosed() {
			return nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fence scan of %s after %d up to %d: %w", topic, next, upTo, err)
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, kerr.OffsetOutOfRange) {
				return nil, fmt.Errorf("fence scan of %s: %w (%w)", topic, ErrTruncated, fe.Err)
			}
			return nil, fmt.Errorf("fence scan of %s: %w", topic, k.mapErr(fe.Err))
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			if id := MessageID(rec.Offset + 1); id > next && id <= upTo {
				recs = append(recs, rec)
				next = id
			}
		})
	}
	return recs, nil
}

// Producer implements Fencing. Opening reads the channel's fence state at
// its last message: a higher epoch there fences the producer at once.
func (k *Kafka) Producer(ctx context.Context, channel string, epoch int64) (Producer, error) {
	topic, err := k.channelTopic(channel)
	if err != nil {
		return nil, fmt.Errorf("logbroker: producer of %q: %w", channel, err)
	}
	if k.isClosed() {
		return nil, fmt.Errorf("logbroker: producer of %q: %w", channel, ErrClosed)
	}
	if err := k.ensureTopic(ctx, topic); err != nil {
		return nil, fmt.Errorf("logbroker: producer of %q: %w", channel, err)
	}
	last, err := k.Latest(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("logbroker: producer of %q: %w", channel, err)
	}
	st, err := k.scanFence(ctx, topic, last)
	if err != nil {
		return nil, fmt.Errorf("logbroker: producer of %q: fence state: %w", channel, err)
	}
	if st.epoch > epoch {
		return nil, fmt.Errorf("logbroker: open producer of %q at epoch %d: message %d has epoch %d: %w", channel, epoch, st.id, st.epoch, ErrFenced)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &kafkaProducer{k: k, channel: channel, topic: topic, epoch: epoch,
		nonce: binary.LittleEndian.Uint64(b[:]) | 1, last: last, st: st}, nil
}

// kafkaProducer appends tagged records and acknowledges only those every
// reader accepts.
type kafkaProducer struct {
	k       *Kafka
	channel string
	topic   string
	epoch   int64
	nonce   uint64

	mu     sync.Mutex
	last   MessageID
	st     kafkaFenceState // the fence state after last
	n      uint64
	fenced bool
}

// Append implements Producer. The record lands wherever Kafka puts it; if
// that is right after the producer's last known message it is accepted
// (one produce, nothing more). Otherwise the producer rebuilds the fence
// state before it and judges its record as every reader will: a record
// they skip fails with ErrFenced, for good.
//
// The client's idempotent produce retries a request whose reply was lost
// without storing the record twice. An Append that fails (its outcome
// unknown) leaves p.last where it was: if its record landed, the next
// Append lands after it, non-contiguous, and is accepted because the
// record in between is this producer's own.
func (p *kafkaProducer) Append(ctx context.Context, payload []byte, props map[string]string) (MessageID, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fenced {
		return 0, fmt.Errorf("logbroker: append to %q at epoch %d: %w", p.channel, p.epoch, ErrFenced)
	}
	p.n++
	tag := fenceTag{epoch: p.epoch, nonce: p.nonce, n: p.n}
	id, err := p.k.appendRecord(ctx, p.channel, p.topic, payload, props, []kgo.RecordHeader{
		{Key: kafkaFenceHeader, Value: []byte(tag.String())},
		{Key: kafkaPrevHeader, Value: strconv.AppendUint(nil, uint64(p.last), 10)},
	})
	if err != nil {
		return 0, err
	}
	f := kafkaFence{tag: tag, prev: p.last, tagged: true}
	if f.contiguous(id) {
		p.last, p.st = id, kafkaFenceState{epoch: p.epoch, nonce: p.nonce, id: id}
		return id, nil
	}
	// The state after p.last is known (p.st): only the records that
	// landed in between are read.
	st, err := p.k.replayFence(ctx, p.topic, p.last, p.st, id-1)
	if errors.Is(err, ErrTruncated) {
		st, err = p.k.scanFence(ctx, p.topic, id-1)
	}
	if err != nil {
		// The record is stored; whether readers take it is decided by
		// the log, not by this error: the outcome is unknown, as for a
		// timeout.
		return 0, fmt.Errorf("logbroker: append to %q: fence state before message %d: %w", p.channel, id, err)
	}
	if _, ok := judge(st, id, f); !ok {
		p.fenced = true
		return 0, fmt.Errorf("logbroker: append to %q at epoch %d: message %d of epoch %d came first; readers skip message %d: %w",
			p.channel, p.epoch, st.id, st.epoch, id, ErrFenced)
	}
	p.last, p.st = id, kafkaFenceState{epoch: p.epoch, nonce: p.nonce, id: id}
	return id, nil
}

// Last implements Producer.
func (p *kafkaProducer) Last() MessageID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}
