package objstore

import (
	"fmt"
	"strings"
)

// ValidateKey reports whether every store can hold key: it must be
// non-empty, must not start with "/", and must have no empty, "." or ".."
// segment and no NUL byte. The error wraps ErrInvalidKey.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w: %q contains NUL", ErrInvalidKey, key)
	}
	if key[0] == '/' {
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidKey, key, seg)
		}
	}
	return nil
}
