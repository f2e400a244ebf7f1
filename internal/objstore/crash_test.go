package objstore_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/objstore"
)

// crashObject is the content of object i: 64 KiB, different for each i,
// so that a torn or mixed object is caught.
func crashObject(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%08d", i)), 8<<10)
}

// TestLocalCrash kills (SIGKILL) a process writing to a Local store and
// checks that every Put it acknowledged is intact, that every object present
// is whole, and that no temporary file survives NewLocal.
func TestLocalCrash(t *testing.T) {
	if dir := os.Getenv("MILVAGO_OBJSTORE_CRASH_DIR"); dir != "" {
		localCrashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalCrash$")
	cmd.Env = append(os.Environ(), "MILVAGO_OBJSTORE_CRASH_DIR="+dir)
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
	for acked < 50 && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 50 {
		t.Fatalf("child stopped after %d puts: %v", acked+1, lines.Err())
	}

	s, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i <= acked; i++ {
		got, err := s.Get(ctx, fmt.Sprintf("seg/%d/%06d", i%7, i))
		if err != nil || !bytes.Equal(got, crashObject(i)) {
			t.Fatalf("acknowledged object %d: %d bytes, %v", i, len(got), err)
		}
	}
	l, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range l {
		var seg, i int
		if _, err := fmt.Sscanf(o.Key, "seg/%d/%06d", &seg, &i); err != nil {
			t.Fatalf("unexpected key %q", o.Key)
		}
		if got, _ := s.Get(ctx, o.Key); !bytes.Equal(got, crashObject(i)) {
			t.Fatalf("object %q is torn: %d bytes", o.Key, len(got))
		}
	}
	tmp, err := os.ReadDir(dir + "/.objstore-tmp")
	if err != nil || len(tmp) != 0 {
		t.Fatalf("temporary files after NewLocal: %d, %v", len(tmp), err)
	}
	t.Logf("%d puts acknowledged before SIGKILL, %d objects found", acked+1, len(l))
}

func localCrashChild(dir string) {
	s, err := objstore.NewLocal(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := s.Put(context.Background(), fmt.Sprintf("seg/%d/%06d", i%7, i), crashObject(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", i)
	}
	os.Exit(1) // the parent should have killed us long ago
}
