package errs

import "fmt"

// SegmentLoadFailed is merr.WrapErrSegmentLoadFailed(segment, reason):
// "<reason>: segment load failed[segment=<id>]".
func SegmentLoadFailed(segment int64, reason string) error {
	return fmt.Errorf("%s: %w", reason, &detailed{base: ErrSegmentLoadFailed, detail: fmt.Sprintf("[segment=%d]", segment)})
}
