package e2e

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// tailLines is how many of a server's last log lines a failed test shows.
const tailLines = 200

// tailLogger is a logger at info level keeping the server's last
// tailLines lines in memory, printed when the test fails: a failure that
// happens once in many runs (a CI run on a loaded machine) then says what
// the server was doing. MILVAGO_TEST_LOG logs everything instead.
func tailLogger(t *testing.T) *slog.Logger {
	t.Helper()
	ring := &lineRing{lines: make([]string, tailLines)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- the server's last %d log lines ----\n%s", tailLines, ring.String())
		}
	})
	return slog.New(slog.NewTextHandler(ring, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// lineRing is an io.Writer keeping the last len(lines) lines written.
type lineRing struct {
	mu    sync.Mutex
	lines []string
	next  int // index of the oldest line once full
	full  bool
}

func (r *lineRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		r.lines[r.next] = string(line)
		r.next = (r.next + 1) % len(r.lines)
		r.full = r.full || r.next == 0
	}
	return len(p), nil
}

func (r *lineRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	if r.full {
		for _, l := range r.lines[r.next:] {
			b.WriteString(l)
		}
	}
	for _, l := range r.lines[:r.next] {
		b.WriteString(l)
	}
	return b.String()
}

func TestLineRingKeepsTheLastLines(t *testing.T) {
	r := &lineRing{lines: make([]string, 3)}
	for _, s := range []string{"a\n", "b\nc\n", "d\n"} {
		r.Write([]byte(s))
	}
	if got := r.String(); got != "b\nc\nd\n" {
		t.Fatalf("ring holds %q, want the last three lines", got)
	}
	r = &lineRing{lines: make([]string, 3)}
	r.Write([]byte("a\n"))
	if got := r.String(); got != "a\n" {
		t.Fatalf("ring holds %q, want the only line", got)
	}
}
