package kv

import (
	"context"
	"log/slog"
	"testing"
)

// BenchmarkDiskGuardAllow is the check alone that the disk guard adds to
// every meta write (a statfs of the data directory).
func BenchmarkDiskGuardAllow(b *testing.B) {
	g, err := newDiskGuard(DiskGuard{ReserveBytes: 1 << 20, MinFreeBytes: 1 << 20}, b.TempDir(), slog.New(slog.DiscardHandler))
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
