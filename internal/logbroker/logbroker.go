package logbroker

import (
	"context"
	"errors"
)

// Errors a log reports.
var (
	ErrClosed    = errors.New("logbroker: closed")
	ErrTruncated = errors.New("logbroker: position truncated")
	ErrTooLarge  = errors.New("logbroker: message too large")
	// ErrFull: the log has no room to store the message (its store limit or
	// disk is full); appends succeed again once room is made.
	ErrFull          = errors.New("logbroker: storage full")
	ErrNoSuchChannel = errors.New("logbroker: no such channel")
)

// MessageID is a message's position in its channel: strictly increasing
// within a channel, starting at 1. 0 means "before the first message".
//
// IDs are not contiguous: the NATS backend numbers messages with one
// sequence shared by every channel of its stream (so does Memory, to keep
// callers honest). Never compute ID+1 to name the next message; a reader
// positioned after ID x returns the first message with ID > x.
type MessageID uint64

// Message is one entry of a channel. The receiver owns Payload and
// Properties: a log never reuses or modifies them after returning them.
type Message struct {
	ID         MessageID
	Payload    []byte
	Properties map[string]string
}

// Reader returns a channel's messages in order.
type Reader interface {
	// Next blocks until the next message is available, ctx ends (ctx.Err())
	// or the log closes (ErrClosed). If a Truncate passes the reader's
	// position (the last ID it returned, or its `after`) before the reader
	// got there, Next returns ErrTruncated instead of silently skipping
	// messages, whichever Log value (or process) truncated: a reader
	// never returns a message after one it skipped. Messages it had
	// fetched before the truncation may still be returned first.
	Next(ctx context.Context) (Message, error)
	// Close stops the reader.
	Close() error
}

// Log is the log broker contract. Every implementation runs the conformance
// suite in package logbrokertest. Channels are created on first use.
type Log interface {
	// Append stores a message at the end of channel and returns its ID once
	// it is durable (as the backend's sync settings define durable). The log
	// copies payload and props before returning; the caller may reuse them.
	// A payload longer than MaxMessageBytes returns ErrTooLarge.
	Append(ctx context.Context, channel string, payload []byte, props map[string]string) (MessageID, error)
	// Read returns a reader positioned after `after`: the first message it
	// returns is the first one with ID > after. after = 0 reads from the
	// oldest retained message. Reading from a truncated position returns
	// ErrTruncated: after > 0 is truncated when after < T, the channel's
	// truncation point (the largest upTo given to Truncate, clamped as
	// Truncate says). after = 0 is never truncated.
	Read(ctx context.Context, channel string, after MessageID) (Reader, error)
	// Latest returns the ID of the last message in channel, 0 if empty.
	// Once a channel has messages Latest never goes backwards: if every
	// message was truncated it returns the truncation point, so Read(Latest)
	// always returns exactly the messages appended afterwards.
	Latest(ctx context.Context, channel string) (MessageID, error)
	// Truncate discards messages with ID <= upTo. It is idempotent and never
	// moves the truncation point backwards; an upTo beyond every ID handed
	// out so far is clamped to the last one, so later appends are kept.
	Truncate(ctx context.Context, channel string, upTo MessageID) error
	// MaxMessageBytes is the largest payload Append accepts. Properties are
	// bounded separately by MaxPropertiesBytes.
	MaxMessageBytes() int
	// Close releases the log's resources.
	Close() error
}
