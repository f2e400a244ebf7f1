package logbroker_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
)

// The crash test re-executes the test binary as a child that appends to an
// embedded log, printing every acknowledged append, and kills it with
// SIGKILL in the middle of the stream: no deferred function, no shutdown,
// no flush runs. Then it reopens the directory and checks that every
// acknowledged message is there, intact.

const (
	crashDirEnv   = "MILVAGO_LOGBROKER_CRASH_DIR"
	crashStartEnv = "MILVAGO_LOGBROKER_CRASH_START"
	crashSyncEnv  = "MILVAGO_LOGBROKER_CRASH_SYNC_ALWAYS"
)

// crashChannels are the channels the child appends to in turn.
var crashChannels = []string{"dml_0", "dml_1", "dml_2"}

// crashPayload is message i's payload: 1 B to 64 KiB, so that a few
// hundred messages fill more than one block file.
func crashPayload(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	p := make([]byte, 1+r.IntN(64<<10))
	for j := range p {
		p[j] = byte(r.Uint32())
	}
	return p
}

// TestCrashChild is the child's body; it only runs under TestCrashKill9.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs as TestCrashKill9's child")
	}
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	e, err := logbroker.StartEmbedded(context.Background(), logbroker.EmbedConfig{
		Dir:        dir,
		SyncAlways: os.Getenv(crashSyncEnv) != "",
	}, nil)
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	l := e.Log()
	fmt.Println("ready")
	// Append until killed; the bound only stops a child whose parent died.
	for i := start; i < start+1_000_000; i++ {
		ch := crashChannels[i%len(crashChannels)]
		p := crashPayload(i)
		id, err := l.Append(context.Background(), ch, p, map[string]string{
			"i": strconv.Itoa(i), "crc": strconv.FormatUint(uint64(crc32.ChecksumIEEE(p)), 10),
		})
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		// One write(2) per line: the parent sees whole lines only.
		os.Stdout.WriteString("acked " + strconv.Itoa(i) + " " + strconv.FormatUint(uint64(id), 10) + "\n")
	}
	os.Exit(0)
}

// crashRound runs a child appending messages start, start+1, ... on dir,
// kills it after it acknowledged killAfter of them, and returns the IDs
// acknowledged by message number.
func crashRound(t *testing.T, dir string, start, killAfter int, syncAlways bool) map[int]logbroker.MessageID {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(start))
	if syncAlways {
		cmd.Env = append(cmd.Env, crashSyncEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// A child that hangs is killed too, and fails the test below.
	watchdog := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	acked := make(map[int]logbroker.MessageID)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		var i int
		var id uint64
		switch {
		case line == "ready":
			continue
		case strings.HasPrefix(line, "error "):
			t.Fatalf("child: %s", line)
		}
		if _, err := fmt.Sscanf(line, "acked %d %d", &i, &id); err != nil {
			continue // test framework output
		}
		acked[i] = logbroker.MessageID(id)
		if len(acked) == killAfter {
			// SIGKILL while the child is still appending.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines the child wrote before it died are still in the pipe: they
	// were acknowledged too.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed (%d acks): %v", len(acked), err)
	}
	t.Logf("killed the child after %d acknowledged appends (from %d)", len(acked), start)
	return acked
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, syncAlways := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncAlways=%v", syncAlways), func(t *testing.T) {
			testCrash(t, syncAlways)
		})
	}
}

func testCrash(t *testing.T, syncAlways bool) {
	dir := t.TempDir()
	// Two rounds: the second child starts on a store recovered from a
	// kill and is killed in turn.
	acked := crashRound(t, dir, 0, 150, syncAlways)
	next := 0
	for i := range acked {
		next = max(next, i+1)
	}
	for i, id := range crashRound(t, dir, next+1000, 150, syncAlways) {
		acked[i] = id
	}

	e := startEmbedded(t, logbroker.EmbedConfig{Dir: dir})
	l := e.Log()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var lastID logbroker.MessageID
	found := 0
	for _, ch := range crashChannels {
		latest, err := l.Latest(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		lastID = max(lastID, latest)
		r, err := l.Read(ctx, ch, 0)
		if err != nil {
			t.Fatal(err)
		}
		var prev logbroker.MessageID
		for prev < latest {
			m, err := r.Next(ctx)
			if err != nil {
				t.Fatalf("%s: next after %d (latest %d): %v", ch, prev, latest, err)
			}
			if m.ID <= prev {
				t.Fatalf("%s: id %d after %d", ch, m.ID, prev)
			}
			prev = m.ID
			// Every stored message is intact, acknowledged or not (the
			// child may have died between store and ack).
			i, err := strconv.Atoi(m.Properties["i"])
			if err != nil {
				t.Fatalf("%s: message %d: properties %q", ch, m.ID, m.Properties)
			}
			if want := crashPayload(i); !bytes.Equal(m.Payload, want) || m.Properties["crc"] != strconv.FormatUint(uint64(crc32.ChecksumIEEE(want)), 10) {
				t.Fatalf("%s: message %d (#%d): %d bytes differ from the %d appended", ch, m.ID, i, len(m.Payload), len(want))
			}
			if id, ok := acked[i]; ok {
				if id != m.ID {
					t.Fatalf("%s: message #%d has id %d, acknowledged as %d", ch, i, m.ID, id)
				}
				delete(acked, i)
				found++
			}
		}
		r.Close()
	}
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged messages lost (%d found), e.g. %v", len(acked), found, firstN(acked, 5))
	}
	// Numbering goes on after the crash.
	id, err := l.Append(ctx, crashChannels[0], []byte("after"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if id <= lastID {
		t.Fatalf("append after recovery: id %d <= %d", id, lastID)
	}
	t.Logf("%d acknowledged messages all found; next id %d", found, id)
}

func firstN(m map[int]logbroker.MessageID, n int) map[int]logbroker.MessageID {
	out := make(map[int]logbroker.MessageID)
	for k, v := range m {
		if len(out) == n {
			break
		}
		out[k] = v
	}
	return out
}
