package idleslack

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// prctl options (linux/prctl.h).
const (
	prSetTimerSlack = 29
	prGetTimerSlack = 30
)

// systemSetter changes the slack of every thread of the process: by
// writing each thread's /proc/TID/timerslack_ns, which stops nothing, or,
// where that is not allowed (another thread's needs CAP_SYS_NICE), with
// prctl on every thread through syscall.AllThreadsSyscall, which stops the
// world. A stop of the world waits for every P: a spinning thread that
// sleeps a few microseconds in the scheduler (runqgrab's usleep(3)) while
// holding one sleeps up to the idle slack, so a request arriving at the
// restore then waited about the slack (measured: +18 ms at 20 ms, +40-50
// ms at 50 ms, +100-200 ms at 200 ms for the first request after a quiet
// period). The /proc writes have no such wait.
type systemSetter struct {
	noProc *atomic.Bool // the /proc writes failed with EPERM once: use prctl
}

func newSystemSetter() systemSetter { return systemSetter{noProc: new(atomic.Bool)} }

func (systemSetter) Get() (time.Duration, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("idleslack: prctl(PR_GET_TIMERSLACK): %w", errno)
	}
	return time.Duration(r), nil
}

func (s systemSetter) Set(d time.Duration) error {
	if s.noProc != nil && !s.noProc.Load() {
		err := setProc(d)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrPermission) {
			return err
		}
		s.noProc.Store(true) // and fall back to prctl on every thread
	}
	return setAllThreads(d)
}

// setProc writes d to /proc/TID/timerslack_ns of every thread in
// /proc/self/task, and again for the threads that appeared meanwhile
// (created by a thread not yet written) until a listing shows no new one.
// A thread that exits meanwhile is skipped.
func setProc(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("idleslack: slack %v: want > 0", d)
	}
	val := []byte(strconv.FormatInt(d.Nanoseconds(), 10))
	done := map[string]bool{}
	for range 100 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("idleslack: list the threads: %w", err)
		}
		fresh := false
		for _, t := range tasks {
			tid := t.Name()
			if done[tid] {
				continue
			}
			done[tid], fresh = true, true
			err := os.WriteFile("/proc/"+tid+"/timerslack_ns", val, 0)
			if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("idleslack: set the timer slack of thread %s: %w", tid, err)
			}
		}
		if !fresh {
			return nil
		}
	}
	return fmt.Errorf("idleslack: threads kept appearing while the timer slack was set")
}

// setAllThreads sets d with prctl on every thread (a stop of the world).
func setAllThreads(d time.Duration) error {
	if d <= 0 {
		// 0 would restore each thread's "default" slack, which is its
		// creator's slack when it was created: not what is wanted.
		return fmt.Errorf("idleslack: slack %v: want > 0", d)
	}
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d.Nanoseconds()), 0)
	if errno != 0 {
		if errors.Is(errno, syscall.ENOTSUP) {
			return fmt.Errorf("%w (a binary with cgo, e.g. under the race detector: build with CGO_ENABLED=0)", ErrUnsupported)
		}
		return fmt.Errorf("idleslack: prctl(PR_SET_TIMERSLACK, %d) on all threads: %w", d.Nanoseconds(), errno)
	}
	return nil
}
