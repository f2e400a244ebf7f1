package objstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/objstoretest"
)

func TestLocalConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		s, err := objstore.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLocalLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "insert_log/1/2/3", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "insert_log", "1", "2", "3")); err != nil || string(b) != "x" {
		t.Fatalf("file = %q, %v", b, err)
	}
	// A file cannot also be a directory.
	if err := s.Put(ctx, "insert_log/1/2/3/4", []byte("y")); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Fatalf("Put below an object: %v, want ErrInvalidKey", err)
	}
	if err := s.Put(ctx, "insert_log/1", []byte("y")); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Fatalf("Put over a prefix: %v, want ErrInvalidKey", err)
	}
	if err := s.Put(ctx, ".objstore-tmp/x", []byte("y")); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Fatalf("Put of a reserved name: %v, want ErrInvalidKey", err)
	}
	// Deleting the last object removes the empty directories, not the root.
	if err := s.Delete(ctx, "insert_log/1/2/3"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "insert_log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty directory left behind: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("root removed: %v", err)
	}
	// A crash during Put leaves a temporary file: it is invisible, and
	// NewLocal removes it.
	if err := s.Put(ctx, "b/obj", []byte("z")); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".objstore-tmp", "put-123")
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := s.List(ctx, ""); err != nil || len(l) != 1 {
		t.Fatalf("List = %v, %v; want only b/obj", l, err)
	}
	if _, err := objstore.NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file survived NewLocal: %v", err)
	}
}

// TestLocalMapEvict checks that evicting a mapping's pages keeps its bytes
// readable and unchanged, and that the resident set shrinks.
func TestLocalMapEvict(t *testing.T) {
	ctx := context.Background()
	s, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := s.Put(ctx, "big", data); err != nil {
		t.Fatal(err)
	}
	m, err := s.Map(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ev, ok := m.(interface{ Evict() })
	if !ok {
		t.Fatal("a local mapping has no Evict method")
	}
	t.Logf("RssFile before touching: %d kB", rssFileKB(t))
	var sum int
	for _, b := range m.Bytes() { // touch every page
		sum += int(b)
	}
	if sum == 42 {
		t.Log("unlikely")
	}
	before := rssFileKB(t)
	t.Logf("RssFile after touching: %d kB", before)
	ev.Evict()
	after := rssFileKB(t)
	if before >= 0 && after > before-4096 {
		t.Errorf("RssFile %d kB -> %d kB after evicting 8 MiB", before, after)
	}
	if string(m.Bytes()) != string(data) {
		t.Fatal("bytes changed after Evict")
	}
}

// rssFileKB is the process's file-backed resident memory, or -1 if unknown.
func rssFileKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	return -1
}

// TestLocalMapAdviseRandom checks that AdviseRandom marks the mapping for
// random reads (VmFlags "rr" in /proc/self/smaps) and leaves its bytes.
func TestLocalMapAdviseRandom(t *testing.T) {
	ctx := context.Background()
	s, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if err := s.Put(ctx, "graph", data); err != nil {
		t.Fatal(err)
	}
	m, err := s.Map(ctx, "graph")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ra, ok := m.(interface{ AdviseRandom() })
	if !ok {
		t.Fatal("a local mapping has no AdviseRandom method")
	}
	if vmFlags(t, m.Bytes()) == nil {
		t.Skip("no /proc/self/smaps entry for the mapping")
	}
	if slices.Contains(vmFlags(t, m.Bytes()), "rr") {
		t.Fatal("a fresh mapping is already marked random-read")
	}
	ra.AdviseRandom()
	if f := vmFlags(t, m.Bytes()); !slices.Contains(f, "rr") {
		t.Fatalf("VmFlags after AdviseRandom: %v, want rr", f)
	}
	if string(m.Bytes()) != string(data) {
		t.Fatal("bytes changed after AdviseRandom")
	}
}

// vmFlags returns the VmFlags of the smaps entry that starts at b, or nil.
func vmFlags(t *testing.T, b []byte) []string {
	raw, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil
	}
	start := strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&b[0]))), 16) + "-"
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.HasPrefix(f[0], start)
			continue
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.Fields(rest)
		}
	}
	return nil
}

// TestLocalMapEvictBelow: EvictBelow drops the pages below an offset (whole
// pages only), again calls skip what was dropped, and the bytes stay
// readable and unchanged.
func TestLocalMapEvictBelow(t *testing.T) {
	ctx := context.Background()
	s, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 16<<20+100)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if err := s.Put(ctx, "big", data); err != nil {
		t.Fatal(err)
	}
	m, err := s.Map(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ev, ok := m.(interface{ EvictBelow(int) })
	if !ok {
		t.Fatal("a local mapping has no EvictBelow method")
	}
	var sum int
	for _, b := range m.Bytes() { // touch every page
		sum += int(b)
	}
	t.Logf("sum %d", sum)
	before := rssFileKB(t)
	ev.EvictBelow(8<<20 + 10) // the first 8 MiB, not the partial page after
	half := rssFileKB(t)
	ev.EvictBelow(4 << 20) // already dropped: nothing to do
	ev.EvictBelow(len(data) + 1<<20)
	all := rssFileKB(t)
	t.Logf("RssFile %d kB, %d kB after the first half, %d kB after all", before, half, all)
	if before >= 0 && (half > before-6<<10 || all > half-6<<10) {
		t.Errorf("RssFile %d kB -> %d kB -> %d kB evicting 8 MiB and then 8 MiB more", before, half, all)
	}
	if string(m.Bytes()) != string(data) {
		t.Fatal("bytes changed after EvictBelow")
	}
}
