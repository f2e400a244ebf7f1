// Package logbroker is the log: ordered, durable, replayable channels.
// Every mutation is a message in the log ("log as data"); the log is the
// source of truth for everything not yet flushed to the object store.
//
// The contract is WAL-shaped, like Milvus 2.6's streaming WAL: Append
// returns a MessageID once the message is durably stored; readers read from
// any MessageID; old messages are truncated once a checkpoint passes them.
// Time ticks are ordinary messages. Checkpoints live in the meta store and
// are owned by the coordinators, so no backend needs consumer groups or acks.
//
// Standalone embeds a NATS JetStream server with its file store under the
// data directory; cluster mode talks to an external NATS (or Kafka) broker
// through the same client code.
package logbroker

import (
	"context"
	"errors"
)

// Errors a log reports.
var (
	ErrClosed        = errors.New("logbroker: closed")
	ErrTruncated     = errors.New("logbroker: position truncated")
	ErrTooLarge      = errors.New("logbroker: message too large")
	ErrNoSuchChannel = errors.New("logbroker: no such channel")
)

// MessageID is a message's position in its channel: strictly increasing
// within a channel, starting at 1. 0 means "before the first message".
type MessageID uint64

// Message is one entry of a channel.
type Message struct {
	ID         MessageID
	Payload    []byte
	Properties map[string]string
}

// Reader returns a channel's messages in order.
type Reader interface {
	// Next blocks until the next message is available, ctx ends (ctx.Err())
	// or the log closes (ErrClosed).
	Next(ctx context.Context) (Message, error)
	// Close stops the reader.
	Close() error
}

// Log is the log broker contract. Every implementation runs the conformance
// suite in package logbrokertest. Channels are created on first use.
type Log interface {
	// Append stores a message at the end of channel and returns its ID once
	// it is durable (as the backend's sync settings define durable).
	Append(ctx context.Context, channel string, payload []byte, props map[string]string) (MessageID, error)
	// Read returns a reader positioned after `after`: the first message it
	// returns is the first one with ID > after. after = 0 reads from the
	// oldest retained message. Reading from a truncated position returns
	// ErrTruncated.
	Read(ctx context.Context, channel string, after MessageID) (Reader, error)
	// Latest returns the ID of the last message in channel, 0 if empty.
	Latest(ctx context.Context, channel string) (MessageID, error)
	// Truncate discards messages with ID <= upTo.
	Truncate(ctx context.Context, channel string, upTo MessageID) error
	// MaxMessageBytes is the largest payload Append accepts.
	MaxMessageBytes() int
	// Close releases the log's resources.
	Close() error
}
