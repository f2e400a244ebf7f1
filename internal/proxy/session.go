package proxy

import (
	"context"
	"sync"
)

const clientKey ctxKey = 1

// WithClient returns a context carrying the client's connection
// identifier (the "identifier" metadata Milvus SDKs send after Connect).
func WithClient(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientKey, id)
}

func clientOf(ctx context.Context) string {
	id, _ := ctx.Value(clientKey).(string)
	return id
}

// sessions remembers each client's last write timestamp, so that a
// Session-consistent read sees the client's own writes even when the SDK
// (like the Go SDK) does not send a guarantee timestamp itself.
type sessions struct {
	mu   sync.Mutex // guards last
	last map[string]uint64
}

const maxSessions = 1 << 16

func (s *sessions) record(ctx context.Context, ts uint64) {
	id := clientOf(ctx)
	if id == "" || ts == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]uint64{}
	}
	if _, ok := s.last[id]; !ok && len(s.last) >= maxSessions {
		for k := range s.last { // evict an arbitrary client: its reads fall back to Eventually
			delete(s.last, k)
			break
		}
	}
	s.last[id] = max(s.last[id], ts)
}

func (s *sessions) lastWrite(ctx context.Context) uint64 {
	id := clientOf(ctx)
	if id == "" {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[id]
}
