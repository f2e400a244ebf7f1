package logbroker_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// TestEmbeddedNoLeak checks that Close leaves no goroutine behind: the
// server's, the client's and the readers' all end.
func TestEmbeddedNoLeak(t *testing.T) {
	run := func() {
		e, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: t.TempDir()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := e.Log()
		if _, err := l.Append(t.Context(), "ch", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		r, err := l.Read(t.Context(), "ch", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(t.Context()); err != nil {
			t.Fatal(err)
		}
		// One reader closed, one left open: Close must end both.
		r.Close()
		if _, err := l.Read(t.Context(), "ch", 0); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run() // the first run starts package-level goroutines, if any
	base := runtime.NumGoroutine()
	for range 3 {
		run()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}
