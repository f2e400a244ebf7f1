package testservers_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/milvago/milvago/internal/testservers"
)

func TestFreePort(t *testing.T) {
	seen := make(map[int]bool)
	for range 50 {
		p := testservers.FreePort(t)
		if seen[p] || p < 10000 || p >= 32768 {
			t.Fatalf("port %d (seen before: %v)", p, seen[p])
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}

func TestBinary(t *testing.T) {
	t.Setenv("CI", "")
	// Missing: the test is skipped (CI=true would fail it instead).
	t.Setenv("MILVAGO_TEST_NO_BIN", "")
	skipped := false
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		testservers.Binary(t, "MILVAGO_TEST_NO_BIN", "milvago-no-such-binary")
	})
	if !skipped {
		t.Fatal("a missing binary did not skip the test")
	}
	// The variable wins over PATH.
	bin := filepath.Join(t.TempDir(), "server")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MILVAGO_TEST_BIN", bin)
	if got := testservers.Binary(t, "MILVAGO_TEST_BIN", "sh"); got != bin {
		t.Fatalf("Binary = %q, want %q", got, bin)
	}
	// PATH otherwise.
	t.Setenv("MILVAGO_TEST_BIN", "")
	if got := testservers.Binary(t, "MILVAGO_TEST_BIN", "sh"); got == "" {
		t.Fatal("sh not found on PATH")
	}
}
