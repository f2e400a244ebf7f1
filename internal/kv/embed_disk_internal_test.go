package kv

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/milvago/milvago/internal/errs"
)

// BenchmarkDiskGuardAllow is the check alone that the disk guard adds to
// every meta write (a statfs of the data directory).
func BenchmarkDiskGuardAllow(b *testing.B) {
	g, err := newDiskGuard(DiskGuard{ReserveBytes: 1 << 20, MinFreeBytes: 1 << 20}, b.TempDir(), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if err := g.allow(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// Once etcd logs that its WAL could not preallocate its next segment (its
// file pipeline has stopped: the cut after the next would fail and etcd
// exit), every write is refused, the reserve's too, even with room on the
// disk, until a restart. The logger etcd is given shows the guard that
// message even when nothing is logged (a discarding logger).
func TestDiskGuardWALLostRefusesUntilRestart(t *testing.T) {
	g, err := newDiskGuard(DiskGuard{}, t.TempDir(), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := g.allow(WithReserve(ctx)); err != nil {
		t.Fatal(err)
	}
	zl := newObservedZapLogger(slog.New(slog.DiscardHandler), slog.LevelWarn, nil, g.etcdLogged)
	zl.Warn("some other warning")
	if err := g.allow(ctx); err != nil {
		t.Fatalf("after another warning: %v", err)
	}
	zl.Error(walPreallocFailed, zap.Int64("size", 64000000))
	for _, c := range []context.Context{ctx, WithReserve(ctx)} {
		err := g.allow(c)
		if !errors.Is(err, errs.ErrServiceQuotaExceeded) || !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "restart once the disk has room") {
			t.Fatalf("after the WAL's preallocation failed: %v", err)
		}
	}
}
