//go:build !linux

package kv

import "os"

// fallocate is Linux's alone: elsewhere callers fall back (zeros written,
// or the reserve file alone guarding the backend).
func fallocate(*os.File, bool, int64, int64) error { return errNoFallocate }
