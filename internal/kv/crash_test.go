package kv_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// TestEmbeddedCrash kills (SIGKILL) a process writing to an embedded etcd
// and checks that every write it acknowledged is there after a restart.
func TestEmbeddedCrash(t *testing.T) {
	if dir := os.Getenv("MILVAGO_KV_CRASH_DIR"); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmbeddedCrash$")
	cmd.Env = append(os.Environ(), "MILVAGO_KV_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	lines := bufio.NewScanner(out)
	for acked < 100 && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 100 {
		t.Fatalf("child stopped after %d writes: %v", acked+1, lines.Err())
	}

	e := startEmbedded(t, dir)
	defer e.Close()
	l, err := e.Client().List(context.Background(), "crash/")
	if err != nil {
		t.Fatal(err)
	}
	if len(l) < acked+1 {
		t.Fatalf("%d writes acknowledged, %d after restart", acked+1, len(l))
	}
	for i, kv := range l {
		if want := fmt.Sprintf("crash/%06d", i); kv.Key != want || string(kv.Value) != want {
			t.Fatalf("entry %d: %q=%q", i, kv.Key, kv.Value)
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d found", acked+1, len(l))
}

func crashChild(dir string) {
	e, err := kv.StartEmbedded(context.Background(), kv.EmbedConfig{Dir: dir}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := e.Client()
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		k := fmt.Sprintf("crash/%06d", i)
		if _, err := s.Put(context.Background(), k, []byte(k)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", i)
	}
	os.Exit(1) // the parent should have killed us long ago
}
