package idleslack

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// prGetTimerSlack is prctl's PR_GET_TIMERSLACK (linux/prctl.h).
const prGetTimerSlack = 30

// systemSetter changes the slack of every thread of the process by
// writing each thread's /proc/TID/timerslack_ns, which stops nothing.
// Another thread's file needs CAP_SYS_NICE; without it the setter reports
// ErrUnsupported and the Controller does nothing. It does not fall back
// to prctl(PR_SET_TIMERSLACK) on every thread (syscall.AllThreadsSyscall):
// that stops the world, and a stop of the world waits for every P -- a
// scheduler thread spinning for work sleeps 3 us in runqgrab while
// holding one, and with the idle slack that sleep lasts the slack. Tried
// first: the request that ended a quiet period, arriving during the
// restore, took about the slack (+18 ms at 20 ms, +40-50 ms at 50 ms,
// +100-200 ms at 200 ms), where with the /proc writes it takes what it
// takes without the slack (docs/benchmarks.md, "Idle timer slack").
type systemSetter struct{}

func newSystemSetter() systemSetter { return systemSetter{} }

func (systemSetter) Get() (time.Duration, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("idleslack: prctl(PR_GET_TIMERSLACK): %w", errno)
	}
	return time.Duration(r), nil
}

// Set writes d to /proc/TID/timerslack_ns of every thread in
// /proc/self/task, and again for the threads that appeared meanwhile
// (created by a thread not yet written: they inherit its slack) until a
// listing shows no new one. A thread that exits meanwhile is skipped.
// Never 0: that would restore each thread's "default" slack, which is its
// creator's slack when it was created.
func (systemSetter) Set(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("idleslack: slack %v: want > 0", d)
	}
	val := []byte(strconv.FormatInt(d.Nanoseconds(), 10))
	done := map[string]bool{}
	for range 100 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("%w: list the threads: %v", ErrUnsupported, err)
		}
		fresh := false
		for _, t := range tasks {
			tid := t.Name()
			if done[tid] {
				continue
			}
			done[tid], fresh = true, true
			err := os.WriteFile("/proc/"+tid+"/timerslack_ns", val, 0)
			switch {
			case err == nil, errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ESRCH):
			case errors.Is(err, os.ErrPermission):
				return fmt.Errorf("%w: another thread's timer slack needs CAP_SYS_NICE: %v", ErrUnsupported, err)
			default:
				return fmt.Errorf("idleslack: set the timer slack of thread %s: %w", tid, err)
			}
		}
		if !fresh {
			return nil
		}
	}
	return fmt.Errorf("idleslack: threads kept appearing while the timer slack was set")
}
