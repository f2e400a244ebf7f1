package logbroker

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestStoreLimitLeavesHeadroom(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Skip(err)
	}
	total := int64(st.Blocks) * int64(st.Bsize)
	free := int64(st.Bavail) * int64(st.Bsize)
	limit, ok := storeLimit(dir, 1000)
	headroom := min(total/10, 1<<30)
	// The free space moves under a shared disk: allow 64 MiB of drift.
	if !ok || limit > 1000+free-headroom+64<<20 || limit < 1000+free-headroom-64<<20 {
		t.Fatalf("limit %d, want about %d (free %d, headroom %d)", limit, 1000+free-headroom, free, headroom)
	}
	if err := os.WriteFile(filepath.Join(dir, "held"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := initialStoreLimit(dir); got < 1<<20 {
		t.Fatalf("initial limit %d", got)
	}
	if _, ok := storeLimit(filepath.Join(dir, "missing"), 0); ok {
		t.Fatal("a missing directory has a limit")
	}
}
