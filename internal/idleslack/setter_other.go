//go:build !linux

package idleslack

import "time"

// systemSetter: only Linux has a per-thread timer slack.
type systemSetter struct{}

func newSystemSetter() systemSetter { return systemSetter{} }

func (systemSetter) Get() (time.Duration, error) { return 0, ErrUnsupported }
func (systemSetter) Set(time.Duration) error     { return ErrUnsupported }
