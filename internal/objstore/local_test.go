package objstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

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
