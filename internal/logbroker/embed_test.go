package logbroker_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
)

// testLogger logs at debug to stderr when MILVAGO_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("MILVAGO_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// embeddedLog is the log of an embedded server that closes the server too.
type embeddedLog struct {
	*logbroker.NATS
	e *logbroker.Embedded
}

func (l embeddedLog) Close() error { return l.e.Close() }

func startEmbedded(t *testing.T, cfg logbroker.EmbedConfig) *logbroker.Embedded {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	e, err := logbroker.StartEmbedded(t.Context(), cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestEmbeddedConformance(t *testing.T) {
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		e := startEmbedded(t, logbroker.EmbedConfig{})
		return embeddedLog{e.Log(), e}
	})
}

func TestEmbeddedPersistent(t *testing.T) {
	logbrokertest.RunPersistent(t, func(t *testing.T, dir string) logbroker.Log {
		e := startEmbedded(t, logbroker.EmbedConfig{Dir: dir})
		return embeddedLog{e.Log(), e}
	})
}

// TestEmbeddedLocksDir checks that a second server cannot open a directory
// in use, and can once the first closed.
func TestEmbeddedLocksDir(t *testing.T) {
	dir := t.TempDir()
	e := startEmbedded(t, logbroker.EmbedConfig{Dir: dir})
	if e2, err := logbroker.StartEmbedded(t.Context(), logbroker.EmbedConfig{Dir: dir}, nil); err == nil {
		e2.Close()
		t.Fatal("second server on a directory in use started")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	startEmbedded(t, logbroker.EmbedConfig{Dir: dir})
}
