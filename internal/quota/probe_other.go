//go:build !linux

package quota

import "errors"

// HostProbe measures nothing outside Linux: write protection is off there.
type HostProbe struct {
	Dir string
}

var errUnsupported = errors.New("quota: memory and disk sampling needs Linux")

func (HostProbe) Memory() (used, total uint64, err error) { return 0, 0, errUnsupported }
func (HostProbe) Disk() (used, total uint64, err error)   { return 0, 0, errUnsupported }
func (HostProbe) DataBytes() (int64, error)               { return 0, errUnsupported }
