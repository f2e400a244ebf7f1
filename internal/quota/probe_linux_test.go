package quota

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeStatfs answers statfs with fixed counts of 4 KiB blocks.
func fakeStatfs(blocks, bfree, bavail uint64) func(string, *unix.Statfs_t) error {
	return func(_ string, st *unix.Statfs_t) error {
		*st = unix.Statfs_t{Bsize: 4096, Blocks: blocks, Bfree: bfree, Bavail: bavail}
		return nil
	}
}

// TestHostProbeCountsAsDf: the disk water level reads the data
// directory's file system as df does (issue 11): used is f_blocks -
// f_bfree, of used + f_bavail; the blocks reserved for root are neither.
// An ext4 file system of 1,000,000 blocks with its 5% reserve, 99,750
// blocks available: df shows 89.5% in use, which a level of 90% admits;
// counting the reserve as used (865,000+ of 1,000,000) read 90.03% and
// refused. With 40,000 blocks available (df 95.8%) writes are refused and
// the reason names df's numbers.
func TestHostProbeCountsAsDf(t *testing.T) {
	p := &HostProbe{Dir: "/data", statfs: fakeStatfs(1_000_000, 149_750, 99_750)}
	used, total, err := p.Disk()
	if err != nil {
		t.Fatal(err)
	}
	if used != 850_250*4096 || total != 950_000*4096 {
		t.Fatalf("disk: %d of %d bytes, want df's %d of %d", used, total, 850_250*4096, 950_000*4096)
	}
	cfg, cc := defaults(), CenterConfig{}
	cc.DiskProtection, cc.DiskHighWaterLevel, cc.Probe = true, 0.90, p
	l, _ := newProtected(cfg, cc)
	ctx := context.Background()
	l.Sample()
	if err := l.Admit(ctx, Insert, 1, 1); err != nil {
		t.Fatalf("insert at df's 89.5%% under a 90%% level: %v", err)
	}

	p.statfs = fakeStatfs(1_000_000, 90_000, 40_000)
	l.Sample()
	err = l.Admit(ctx, Insert, 1, 1)
	if err == nil {
		t.Fatal("insert at df's 95.8% above a 90% level: admitted")
	}
	for _, want := range []string{"disk quota exceeded, please allocate more resources",
		"95.8% full as df counts it (3554 MB used, 156 MB available", "above the high water level 90%"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("refusal %q: want %q in it", err, want)
		}
	}

	p.statfs = func(string, *unix.Statfs_t) error { return unix.EACCES }
	if _, _, err := p.Disk(); !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "/data") {
		t.Fatalf("a failing statfs: %v, want its error naming the directory", err)
	}
}

// TestDfUsage: free blocks above the total (a file system's counts read
// while changing) count as nothing used rather than wrapping around.
func TestDfUsage(t *testing.T) {
	for _, c := range []struct{ blocks, bfree, bavail, used, total uint64 }{
		{100, 18, 13, 82, 95},
		{100, 100, 95, 0, 95},
		{100, 0, 0, 100, 100},
		{100, 120, 110, 0, 110},
	} {
		used, total := dfUsage(c.blocks, c.bfree, c.bavail, 1)
		if used != c.used || total != c.total {
			t.Errorf("dfUsage(%d, %d, %d): %d of %d, want %d of %d", c.blocks, c.bfree, c.bavail, used, total, c.used, c.total)
		}
	}
}
