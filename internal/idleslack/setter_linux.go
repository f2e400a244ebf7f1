package idleslack

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// prctl options (linux/prctl.h).
const (
	prSetTimerSlack = 29
	prGetTimerSlack = 30
)

// systemSetter changes the slack with prctl on every thread of the
// process.
type systemSetter struct{}

func (systemSetter) Get() (time.Duration, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("idleslack: prctl(PR_GET_TIMERSLACK): %w", errno)
	}
	return time.Duration(r), nil
}

func (systemSetter) Set(d time.Duration) error {
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
