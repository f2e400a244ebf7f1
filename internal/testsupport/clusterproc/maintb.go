package clusterproc

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
)

// MainTB is a testing.TB for what lives as long as a test package, not one
// test: a cluster that TestMain (or the first test needing it) starts and
// every test of the package shares. Run calls a function with it; Close
// runs its cleanups (in reverse order, as testing does). Logs go to
// stderr. Only the methods the test servers use are implemented; the
// others panic (the embedded nil TB).
type MainTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
	dirs     []string
	ctx      context.Context
	cancel   context.CancelFunc
}

// NewMainTB returns a MainTB named name (it prefixes the logs).
func NewMainTB(name string) *MainTB {
	ctx, cancel := context.WithCancel(context.Background())
	return &MainTB{name: name, ctx: ctx, cancel: cancel}
}

// Run calls fn with m in a goroutine of its own (Fatal and Skip end it
// as they end a test) and returns an error if fn failed or skipped.
func (m *MainTB) Run(fn func(testing.TB)) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(m)
	}()
	<-done
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.failed:
		return fmt.Errorf("%s failed (see the log above)", m.name)
	case m.skipped:
		return fmt.Errorf("%s skipped (see the log above)", m.name)
	}
	return nil
}

// Close runs the cleanups, last registered first, and removes the
// temporary directories.
func (m *MainTB) Close() {
	m.mu.Lock()
	cs := m.cleanups
	m.cleanups = nil
	m.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	m.cancel()
	for _, d := range m.dirs {
		os.RemoveAll(d)
	}
}

func (m *MainTB) Name() string                 { return m.name }
func (m *MainTB) Helper()                      {}
func (m *MainTB) Context() context.Context     { return m.ctx }
func (m *MainTB) Log(args ...any)              { fmt.Fprintln(os.Stderr, append([]any{m.name + ":"}, args...)...) }
func (m *MainTB) Logf(f string, args ...any)   { fmt.Fprintf(os.Stderr, m.name+": "+f+"\n", args...) }
func (m *MainTB) Error(args ...any)            { m.Log(args...); m.Fail() }
func (m *MainTB) Errorf(f string, args ...any) { m.Logf(f, args...); m.Fail() }
func (m *MainTB) Fatal(args ...any)            { m.Log(args...); m.FailNow() }
func (m *MainTB) Fatalf(f string, args ...any) { m.Logf(f, args...); m.FailNow() }
func (m *MainTB) Skip(args ...any)             { m.Log(args...); m.SkipNow() }
func (m *MainTB) Skipf(f string, args ...any)  { m.Logf(f, args...); m.SkipNow() }

func (m *MainTB) Fail() {
	m.mu.Lock()
	m.failed = true
	m.mu.Unlock()
}

func (m *MainTB) FailNow() { m.Fail(); runtime.Goexit() }

func (m *MainTB) SkipNow() {
	m.mu.Lock()
	m.skipped = true
	m.mu.Unlock()
	runtime.Goexit()
}

func (m *MainTB) Failed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed
}

func (m *MainTB) Skipped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skipped
}

func (m *MainTB) Cleanup(f func()) {
	m.mu.Lock()
	m.cleanups = append(m.cleanups, f)
	m.mu.Unlock()
}

func (m *MainTB) TempDir() string {
	d, err := os.MkdirTemp("", "milvago-"+m.name+"-")
	if err != nil {
		m.Fatal(err)
	}
	m.mu.Lock()
	m.dirs = append(m.dirs, d)
	m.mu.Unlock()
	return d
}

func (m *MainTB) Setenv(key, value string) {
	prev, had := os.LookupEnv(key)
	os.Setenv(key, value)
	m.Cleanup(func() {
		if had {
			os.Setenv(key, prev)
		} else {
			os.Unsetenv(key)
		}
	})
}
