package logbroker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// ErrFenced: a producer of a higher epoch (or another producer of the same
// epoch) has appended to the channel; this producer may never append to it
// again.
var ErrFenced = errors.New("logbroker: fenced by a newer writer of the channel")

// Fencing is implemented by logs that fence an old writer of a channel in
// the log itself, not only by the writer's own belief that it still owns
// the channel (docs/log-fencing.md).
type Fencing interface {
	// Producer returns a producer that appends to channel under epoch (the
	// writer's ownership term: a later writer of the channel has a higher
	// one). The guarantee: once a producer of epoch e has appended to a
	// channel, no message of a producer with a lower epoch lands after it;
	// such appends fail with ErrFenced. Producer itself fails with
	// ErrFenced if a producer of a higher epoch already appended.
	Producer(ctx context.Context, channel string, epoch int64) (Producer, error)
}

// LastMessager is implemented by logs where the last stored message can
// be one no reader returns (Kafka: a fenced writer's record is stored and
// skipped by every reader, docs/log-fencing.md), so that reading "the
// message at Latest" would wait for the next append.
type LastMessager interface {
	// LastMessage returns the last message with ID <= upTo that readers
	// return, without waiting; found is false when none is retained.
	LastMessage(ctx context.Context, channel string, upTo MessageID) (m Message, found bool, err error)
}

// Producer appends to one channel under one epoch. Its appends are made
// one at a time (the caller serialises them).
type Producer interface {
	// Append is Log.Append under the fence. An append whose reply was lost
	// is retried without being stored twice; one that ends with ctx (its
	// outcome unknown) is resolved by the next Append: if it landed, the
	// next Append goes after it. ErrFenced is final.
	Append(ctx context.Context, payload []byte, props map[string]string) (MessageID, error)
	// Last is the ID of the channel's last message as this producer knows
	// it: what it read at open or its own last append.
	Last() MessageID
}

// fenceTag marks every message a producer appends: the producer's epoch,
// a random nonce that tells producers of one epoch apart, and the number
// of the Append call (a retry of one call keeps it).
type fenceTag struct {
	epoch int64
	nonce uint64
	n     uint64
}

func (t fenceTag) String() string {
	return strconv.FormatInt(t.epoch, 10) + "." + strconv.FormatUint(t.nonce, 16) + "." + strconv.FormatUint(t.n, 10)
}

func parseFenceTag(s string) (fenceTag, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return fenceTag{}, false
	}
	e, err1 := strconv.ParseInt(parts[0], 10, 64)
	nonce, err2 := strconv.ParseUint(parts[1], 16, 64)
	n, err3 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fenceTag{}, false
	}
	return fenceTag{epoch: e, nonce: nonce, n: n}, true
}

// errWrongLast: a conditional append found another message last.
var errWrongLast = errors.New("logbroker: the channel's last message is not the expected one")

// conditional is what a backend provides for fencedProducer.
type conditional interface {
	// appendIf appends like Append, tagged, if channel's last message
	// (truncated or not) is expect (0: the channel never had one);
	// otherwise it fails with errWrongLast. Retries of an attempt whose
	// reply is lost are its own business, with the same expectation.
	appendIf(ctx context.Context, channel string, expect MessageID, tag fenceTag, payload []byte, props map[string]string) (MessageID, error)
	// lastTag returns the ID of channel's last message and its tag; ok is
	// false for an untagged message or none (id 0).
	lastTag(ctx context.Context, channel string) (id MessageID, tag fenceTag, ok bool, err error)
}

// fencedProducer is a Producer over a conditional append: every append
// expects the last message it knows of, and a refusal is resolved by
// looking at who wrote the message that is last now.
type fencedProducer struct {
	log     conditional
	channel string
	epoch   int64
	nonce   uint64

	mu     sync.Mutex
	last   MessageID
	n      uint64
	fenced bool
}

// openFenced opens a producer: a message of a higher epoch already in
// the channel fences it at once; anything else before it is adopted.
func openFenced(ctx context.Context, l conditional, channel string, epoch int64) (*fencedProducer, error) {
	id, tag, ok, err := l.lastTag(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("logbroker: open producer of %q: %w", channel, err)
	}
	if ok && tag.epoch > epoch {
		return nil, fmt.Errorf("logbroker: open producer of %q at epoch %d: message %d has epoch %d: %w", channel, epoch, id, tag.epoch, ErrFenced)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &fencedProducer{log: l, channel: channel, epoch: epoch, nonce: binary.LittleEndian.Uint64(b[:]) | 1, last: id}, nil
}

// maxAdopt bounds how many messages of older producers one Append adopts
// before giving up (each is an older writer's append that raced ours).
const maxAdopt = 100

// Append implements Producer.
func (p *fencedProducer) Append(ctx context.Context, payload []byte, props map[string]string) (MessageID, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fenced {
		return 0, fmt.Errorf("logbroker: append to %q at epoch %d: %w", p.channel, p.epoch, ErrFenced)
	}
	p.n++
	tag := fenceTag{epoch: p.epoch, nonce: p.nonce, n: p.n}
	for range maxAdopt {
		id, err := p.log.appendIf(ctx, p.channel, p.last, tag, payload, props)
		if err == nil {
			p.last = id
			return id, nil
		}
		if !errors.Is(err, errWrongLast) {
			return 0, err
		}
		lid, ltag, ok, err := p.log.lastTag(ctx, p.channel)
		if err != nil {
			return 0, fmt.Errorf("logbroker: append to %q: last message after a refused append: %w", p.channel, err)
		}
		switch {
		case ok && (ltag.epoch > p.epoch || ltag.epoch == p.epoch && ltag.nonce != p.nonce):
			p.fenced = true
			return 0, fmt.Errorf("logbroker: append to %q at epoch %d: message %d has epoch %d: %w", p.channel, p.epoch, lid, ltag.epoch, ErrFenced)
		case ok && ltag.epoch == p.epoch && ltag.n == tag.n:
			// This very append landed, its reply was lost: not twice.
			p.last = lid
			return lid, nil
		default:
			// An earlier append of ours whose outcome was unknown, or an
			// older writer's that landed before any of ours: ours goes
			// after it.
			p.last = lid
		}
	}
	return 0, fmt.Errorf("logbroker: append to %q: the last message kept changing under %d attempts", p.channel, maxAdopt)
}

// Last implements Producer.
func (p *fencedProducer) Last() MessageID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}
