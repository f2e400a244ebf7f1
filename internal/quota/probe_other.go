//go:build !linux

package quota

import "errors"

// HostProbe measures nothing outside Linux: the disk water level is off there.
type HostProbe struct {
	Dir string
}

var errUnsupported = errors.New("quota: memory and disk sampling needs Linux")

func (HostProbe) Disk() (used, total uint64, err error) { return 0, 0, errUnsupported }
func (HostProbe) DataBytes() (int64, error)             { return 0, errUnsupported }
