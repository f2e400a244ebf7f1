package logbrokertest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/milvago/milvago/internal/logbroker"
)

// ErrInjected is the error a Faulty log fails with.
var ErrInjected = errors.New("logbrokertest: injected fault")

// Faulty wraps a Log and makes every call after the first FailAfter fail
// with ErrInjected (Close and Reader.Close excepted), to test recovery at
// each failure point:
//
//	for n := 0; ; n++ {
//		f := &logbrokertest.Faulty{Log: logbroker.NewMemory(logbroker.MemoryConfig{}), FailAfter: n}
//		if err := insert(ctx, f); err == nil { break }
//		// check what the data path did with the failure
//	}
//
// Calls are Append, Read, Latest, Truncate and every Reader's Next. A
// negative FailAfter never fails.
type Faulty struct {
	logbroker.Log
	FailAfter int
	// AckLost makes a failing Append store the message before it returns
	// ErrInjected, as when the broker's acknowledgement is lost (a publish
	// timeout): the caller must not assume a failed Append left nothing.
	AckLost bool

	calls atomic.Int64
}

var _ logbroker.Log = (*Faulty)(nil)

// Calls returns how many calls the log has seen, failed ones included.
func (f *Faulty) Calls() int { return int(f.calls.Load()) }

func (f *Faulty) fail(op, channel string) error {
	n := f.calls.Add(1)
	if f.FailAfter >= 0 && n > int64(f.FailAfter) {
		return fmt.Errorf("logbroker: %s %q (call %d): %w", op, channel, n, ErrInjected)
	}
	return nil
}

// Append implements logbroker.Log.
func (f *Faulty) Append(ctx context.Context, channel string, payload []byte, props map[string]string) (logbroker.MessageID, error) {
	if err := f.fail("append to", channel); err != nil {
		if f.AckLost {
			if _, aerr := f.Log.Append(ctx, channel, payload, props); aerr != nil {
				return 0, aerr
			}
		}
		return 0, err
	}
	return f.Log.Append(ctx, channel, payload, props)
}

// Read implements logbroker.Log.
func (f *Faulty) Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error) {
	if err := f.fail("read", channel); err != nil {
		return nil, err
	}
	r, err := f.Log.Read(ctx, channel, after)
	if err != nil {
		return nil, err
	}
	return &faultyReader{Reader: r, f: f, channel: channel}, nil
}

// Latest implements logbroker.Log.
func (f *Faulty) Latest(ctx context.Context, channel string) (logbroker.MessageID, error) {
	if err := f.fail("latest of", channel); err != nil {
		return 0, err
	}
	return f.Log.Latest(ctx, channel)
}

// Truncate implements logbroker.Log.
func (f *Faulty) Truncate(ctx context.Context, channel string, upTo logbroker.MessageID) error {
	if err := f.fail("truncate", channel); err != nil {
		return err
	}
	return f.Log.Truncate(ctx, channel, upTo)
}

type faultyReader struct {
	logbroker.Reader
	f       *Faulty
	channel string
}

// Next implements logbroker.Reader.
func (r *faultyReader) Next(ctx context.Context) (logbroker.Message, error) {
	if err := r.f.fail("next on", r.channel); err != nil {
		return logbroker.Message{}, err
	}
	return r.Reader.Next(ctx)
}
