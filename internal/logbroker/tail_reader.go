package logbroker

import (
	"context"
	"fmt"
	"maps"
)

// nextFromTail returns the reader's next message from the log's tail
// (tail.go) when the tail has it, and waits there while the reader is at
// the channel's last message; ok false sends the reader to the stream (it
// is behind what the tail holds). While it takes the tail the reader has
// no consumer: a consumer's pulls would read each block back as it is
// written, which is what keeps the file store's caches in memory. r.mu is
// held.
func (r *natsReader) nextFromTail(ctx context.Context) (Message, bool, error) {
	for {
		e, found, atHead, lastKnown, version, wake := r.n.tail.lookup(r.channel, r.pos)
		switch {
		case found:
			r.dropConsumer()
			r.pos = e.id
			r.n.tail.took(r.channel, r, e.id)
			msg := Message{ID: e.id, Payload: append([]byte{}, e.payload...)}
			if len(e.props) > 0 {
				msg.Properties = maps.Clone(e.props)
			}
			return msg, true, nil
		case atHead:
			r.dropConsumer()
			r.n.tail.took(r.channel, r, r.pos)
			select {
			case <-wake:
			case <-ctx.Done():
				return Message{}, false, ctx.Err()
			case <-r.closing:
				return Message{}, false, fmt.Errorf("logbroker: next on %q: reader %w", r.channel, ErrClosed)
			}
			if err := r.checkTrunc(ctx, false); err != nil {
				return Message{}, false, err
			}
		case !lastKnown:
			// Nothing appended here since start (or an append's outcome
			// is unknown): ask the stream where the channel ends, once.
			last, err := r.n.lastSeq(ctx, r.channel)
			if err != nil {
				if ctx.Err() != nil {
					return Message{}, false, ctx.Err()
				}
				r.n.tail.left(r.channel, r)
				return Message{}, false, nil // the stream's reader reports it
			}
			r.n.tail.knownLast(r.channel, last, version)
			if last > r.pos {
				r.n.tail.left(r.channel, r)
				return Message{}, false, nil
			}
			// At the end (or before the first message): look again, the
			// tail now knows it unless an append came in between.
		default:
			r.n.tail.left(r.channel, r)
			return Message{}, false, nil
		}
	}
}

// ensureConsumer gives a reader that was taking the tail a consumer from
// its position again. r.mu is held.
func (r *natsReader) ensureConsumer(ctx context.Context) error {
	r.itMu.Lock()
	has := r.it != nil
	r.itMu.Unlock()
	if has {
		return nil
	}
	gen := r.n.writeErr.generation()
	cons, it, err := r.n.consume(ctx, r.js, r.channel, r.pos)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("logbroker: next on %q: %w", r.channel, err)
	}
	r.itMu.Lock()
	defer r.itMu.Unlock()
	if r.itClosed {
		it.Stop()
		return fmt.Errorf("logbroker: next on %q: reader %w", r.channel, ErrClosed)
	}
	r.cons, r.it, r.gen = cons, it, gen
	r.got = consumerPos{}
	return nil
}

// dropConsumer stops the reader's consumer, if it has one, and deletes it
// from the server in the background (the server would drop it after
// readerInactive anyway). r.mu is held.
func (r *natsReader) dropConsumer() {
	r.itMu.Lock()
	it, cons := r.it, r.cons
	r.it, r.cons = nil, nil
	r.itMu.Unlock()
	if it == nil {
		return
	}
	it.Stop()
	if !r.n.isClosed() {
		go r.deleteConsumer(cons)
	}
}
