package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestIdleCPU measures the CPU a quiet standalone server burns, empty and
// with loaded collections. It is opt-in and slow (a minute of sampling per
// size, plus the set-up):
//
//	go build -o /tmp/milvago ./cmd/milvago
//	MILVAGO_IDLECPU_BIN=/tmp/milvago MILVAGO_IDLECPU=0,20,1000 \
//	  go test -run TestIdleCPU -v -timeout 60m ./tests/e2e
//
// MILVAGO_IDLECPU_ARGS adds flags to the server's command line.
//
// For each size it starts `BIN standalone` on a fresh data directory,
// creates that many collections (4-d vectors, AUTOINDEX, 10 rows each,
// loaded), waits for the server to settle, then reads utime+stime from
// /proc/PID/stat over MILVAGO_IDLECPU_SECONDS (default 60) and reports the
// share of one core, and the resident set at the end.
func TestIdleCPU(t *testing.T) {
	bin, sizes := os.Getenv("MILVAGO_IDLECPU_BIN"), os.Getenv("MILVAGO_IDLECPU")
	if bin == "" || sizes == "" {
		t.Skip("set MILVAGO_IDLECPU_BIN=<milvago binary> and MILVAGO_IDLECPU=<collection counts, e.g. 0,20,1000>")
	}
	window := 60 * time.Second
	if s := os.Getenv("MILVAGO_IDLECPU_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		must(t, err)
		window = time.Duration(n) * time.Second
	}
	settle := 30 * time.Second
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		must(t, err)
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			p := startBinary(t, bin)
			cli := p.client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			start := time.Now()
			createLoaded(t, ctx, cli, n)
			t.Logf("%d collections created and loaded in %v", n, time.Since(start).Round(time.Second))
			time.Sleep(settle)
			cpu0 := procCPU(t, p.cmd.Process.Pid)
			t0 := time.Now()
			time.Sleep(window)
			cpu1 := procCPU(t, p.cmd.Process.Pid)
			el := time.Since(t0)
			pct := 100 * (cpu1 - cpu0).Seconds() / el.Seconds()
			t.Logf("IDLECPU collections=%d cpu=%.3f%% of a core (%v over %v) rss=%d MiB", n, pct, cpu1-cpu0, el.Round(time.Second), procRSS(t, p.cmd.Process.Pid)>>20)
		})
	}
}

// binaryServer is `milvago standalone` in its own process.
type binaryServer struct {
	cmd  *exec.Cmd
	addr string
}

func startBinary(t *testing.T, bin string) *binaryServer {
	t.Helper()
	standaloneOnly(t, "measures the CPU and memory of one standalone process")
	port, mport := freePort(t), freePort(t)
	args := []string{"standalone", "--data-dir", t.TempDir(), "--port", strconv.Itoa(port),
		"--metrics-port", strconv.Itoa(mport), "--listen", "127.0.0.1", "--log-level", "warn"}
	// Extra flags, e.g. --milvago.pprof.enabled=true to take a trace of
	// the idle server from the metrics port.
	args = append(args, strings.Fields(os.Getenv("MILVAGO_IDLECPU_ARGS"))...)
	t.Logf("%s: gRPC port %d, metrics port %d", bin, port, mport)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &binaryServer{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
			c.Close()
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s", bin, p.addr)
	return nil
}

func (p *binaryServer) client(t *testing.T) *milvusclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		cli, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: p.addr})
		if err == nil {
			t.Cleanup(func() { cli.Close(context.Background()) })
			return cli
		}
		if ctx.Err() != nil {
			t.Fatalf("connect: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// createLoaded creates n small loaded collections (idle_0, idle_1, ...),
// 8 at a time, each with 10 rows.
func createLoaded(t *testing.T, ctx context.Context, cli *milvusclient.Client, n int) {
	t.Helper()
	const dim, rows = 4, 10
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(1, 2))
			for i := range next {
				name := fmt.Sprintf("idle_%d", i)
				if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim)); err != nil {
					errc <- fmt.Errorf("create %s: %w", name, err)
					return
				}
				rowsIn := make([]any, rows)
				for j := range rowsIn {
					rowsIn[j] = map[string]any{"vector": randomVectors(r, 1, dim)[0]}
				}
				if _, err := cli.Insert(ctx, milvusclient.NewRowBasedInsertOption(name, rowsIn...)); err != nil {
					errc <- fmt.Errorf("insert into %s: %w", name, err)
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case err := <-errc:
			close(next)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	// Every collection must report Loaded (SimpleCreateCollectionOptions
	// loads it).
	deadline := time.Now().Add(10 * time.Minute)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("idle_%d", i)
		for {
			st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
			must(t, err)
			if st.State == entity.LoadStateLoaded {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is in load state %v (progress %d) after 10 minutes", name, st.State, st.Progress)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// procCPU is a process's user + system CPU time so far.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	must(t, err)
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err := strconv.ParseInt(f[11], 10, 64) // field 14
	must(t, err)
	stime, err := strconv.ParseInt(f[12], 10, 64) // field 15
	must(t, err)
	const userHZ = 100 // sysconf(_SC_CLK_TCK) on Linux
	return time.Duration(utime+stime) * time.Second / userHZ
}

// procRSS is a process's resident set in bytes.
func procRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			must(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
