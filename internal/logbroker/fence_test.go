package logbroker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// lossy is a conditional whose next append lands but loses its reply:
// with retry, the backend retries it (the same expectation, as NATS's
// appendIf does on a timeout); without, the caller sees the timeout.
type lossy struct {
	conditional
	lose  bool
	retry bool
}

func (l *lossy) appendIf(ctx context.Context, channel string, expect MessageID, tag fenceTag, payload []byte, props map[string]string) (MessageID, error) {
	if !l.lose {
		return l.conditional.appendIf(ctx, channel, expect, tag, payload, props)
	}
	l.lose = false
	if _, err := l.conditional.appendIf(ctx, channel, expect, tag, payload, props); err != nil {
		return 0, err
	}
	if !l.retry {
		return 0, fmt.Errorf("append: %w", context.DeadlineExceeded)
	}
	return l.conditional.appendIf(ctx, channel, expect, tag, payload, props)
}

func payloads(t *testing.T, l Log, ch string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	last, err := l.Latest(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Read(ctx, ch, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(m.Payload))
		if m.ID == last {
			return out
		}
	}
}

// TestFencedLostReply: an append whose reply is lost is neither stored
// twice nor reported failed when retried, and one whose outcome stayed
// unknown is put before the next append, once.
func TestFencedLostReply(t *testing.T) {
	backends := map[string]func(t *testing.T) interface {
		Log
		conditional
	}{
		"memory": func(t *testing.T) interface {
			Log
			conditional
		} {
			m := NewMemory(MemoryConfig{})
			t.Cleanup(func() { m.Close() })
			return m
		},
		"nats": func(t *testing.T) interface {
			Log
			conditional
		} {
			e, err := StartEmbedded(t.Context(), EmbedConfig{Dir: t.TempDir()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			return e.Log()
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := t.Context()
			lc := &lossy{conditional: l}
			p, err := openFenced(ctx, lc, "ch", 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Append(ctx, []byte("a"), nil); err != nil {
				t.Fatal(err)
			}
			lc.lose, lc.retry = true, true
			id, err := p.Append(ctx, []byte("b"), nil)
			if err != nil {
				t.Fatalf("retried append whose reply was lost: %v", err)
			}
			if latest, _ := l.Latest(ctx, "ch"); latest != id {
				t.Fatalf("append returned %d, the last message is %d", id, latest)
			}
			lc.lose, lc.retry = true, false
			if _, err := p.Append(ctx, []byte("c"), nil); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("append whose reply was lost, not retried: %v", err)
			}
			if _, err := p.Append(ctx, []byte("d"), nil); err != nil {
				t.Fatalf("append after one of unknown outcome: %v", err)
			}
			if got := fmt.Sprint(payloads(t, l, "ch")); got != "[a b c d]" {
				t.Fatalf("log holds %s, want [a b c d]", got)
			}
			// A newer producer still fences this one.
			p2, err := openFenced(ctx, l, "ch", 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p2.Append(ctx, []byte("e"), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Append(ctx, []byte("f"), nil); !errors.Is(err, ErrFenced) {
				t.Fatalf("old producer after a newer one appended: %v, want ErrFenced", err)
			}
		})
	}
}
