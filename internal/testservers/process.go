package testservers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 60 * time.Second

// Binary returns the path of a server binary: the value of the environment
// variable env if set (it must name an executable file), otherwise name
// looked up in PATH. When neither is found the test is skipped with a
// message saying how to provide it, or fails if CI=true.
func Binary(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			t.Fatalf("%s=%s: not an executable file (%v)", env, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: set %s or put %s on PATH (see internal/testservers, or run .ci/run)", name, env, name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so this is a failure, not a skip")
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that is free now and that
// this process has not handed out before. It is picked at random below the
// kernel's ephemeral range (ip_local_port_range), so that an outgoing
// connection cannot take it as its local port before the server binds it;
// two test processes can still race for one, with a small chance.
func FreePort(t testing.TB) int {
	t.Helper()
	lo := ephemeralLow()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	for range 1000 {
		p := 10000 + rand.IntN(lo-10000)
		if ports.used[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		ports.used[p] = true
		return p
	}
	t.Fatal("no free port found below the ephemeral range")
	return 0
}

// ports are the ports FreePort handed out in this process.
var ports = struct {
	mu   sync.Mutex
	used map[int]bool
}{used: make(map[int]bool)}

// ephemeralLow returns the lowest port the kernel picks for outgoing
// connections (32768 unless configured otherwise).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 12000 {
				return lo
			}
		}
	}
	return 32768
}

// Process is one server child process. Kill and Restart are for fault
// tests; the test's cleanup stops whatever is still running.
type Process struct {
	// Name identifies the server in logs and errors ("etcd-1", "nats-2").
	Name string
	// Dir holds the server's data and its log, <Name>.log.
	Dir string

	bin   string
	args  []string
	ready func(ctx context.Context) error // nil error once the server serves

	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited
}

// newProcess prepares a process and registers its cleanup: stop it, and
// print the end of its log if the test failed.
func newProcess(t testing.TB, name, dir, bin string, args []string, ready func(context.Context) error) *Process {
	p := &Process{Name: name, Dir: dir, bin: bin, args: args, ready: ready}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- end of %s ---\n%s", p.LogPath(), tail(p.LogPath(), 40))
		}
	})
	return p
}

// LogPath is the file that receives the server's stdout and stderr (every
// run appends to it).
func (p *Process) LogPath() string { return filepath.Join(p.Dir, p.Name+".log") }

// start launches the process without waiting for it to be ready.
func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.Name)
	}
	logf, err := os.OpenFile(p.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "=== %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start %s: %w", p.Name, p.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// waitReady polls the readiness check until it passes, the process exits
// or startTimeout passes.
func (p *Process) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return fmt.Errorf("%s: not running", p.Name)
	}
	var last error
	for {
		if last = p.ready(ctx); last == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready (see %s):\n%s", p.Name, p.LogPath(), tail(p.LogPath(), 20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %w", p.Name, startTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Running reports whether the process is running (started, not killed).
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Pid returns the process ID, 0 when it is not running.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to exit: a crash, with
// nothing flushed or closed. Killing a stopped process does nothing.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	p.signal(syscall.SIGKILL, 0)
}

// Restart starts the process again with the same arguments, ports and
// data directory, and waits until it is ready (for a cluster member: it
// has rejoined, as its readiness check defines). It fails the test if the
// process is still running.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// stop ends the process gracefully (SIGTERM), or with SIGKILL after 10 s.
func (p *Process) stop() { p.signal(syscall.SIGTERM, 10*time.Second) }

// signal sends sig and waits for the exit, sending SIGKILL after grace.
func (p *Process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	if sig != syscall.SIGKILL {
		select {
		case <-done:
			return
		case <-time.After(grace):
			cmd.Process.Kill()
		}
	}
	<-done
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// httpCheck GETs url and returns nil if the status is want (0: any
// status) and the body contains substr.
func httpCheck(ctx context.Context, url string, want int, substr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if want != 0 && resp.StatusCode != want {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body.Bytes()))
	}
	if !bytes.Contains(body.Bytes(), []byte(substr)) {
		return fmt.Errorf("GET %s: %s", url, bytes.TrimSpace(body.Bytes()))
	}
	return nil
}

// startAll starts every process, then waits until all are ready: cluster
// members become ready only together, once they have a quorum.
func startAll(t testing.TB, procs []*Process) {
	t.Helper()
	for _, p := range procs {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.waitReady(t.Context())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
