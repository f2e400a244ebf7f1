package logbroker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
)

func TestMemoryConformance(t *testing.T) {
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		l := logbroker.NewMemory(logbroker.MemoryConfig{})
		t.Cleanup(func() { l.Close() })
		return l
	})
}

// TestMemoryReaderCloseWhileBlocked closes a reader whose Next is blocked
// waiting for a message: Next returns ErrClosed at once (it used to spin,
// holding the reader's lock that Close needed, until its context ended).
func TestMemoryReaderCloseWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := logbroker.NewMemory(logbroker.MemoryConfig{})
		defer l.Close()
		r, err := l.Read(t.Context(), "ch", 0)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := r.Next(context.Background())
			errc <- err
		}()
		synctest.Wait() // Next is blocked
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, logbroker.ErrClosed) {
			t.Fatalf("blocked Next after Close: %v, want ErrClosed", err)
		}
	})
}
