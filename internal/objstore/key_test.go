package objstore

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidateKey checks that a key ValidateKey accepts maps to a path
// inside Local's root that the file system does not normalise into another
// key's path: accepted keys can neither escape nor alias.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{"a", "a/b", "../x", "a/../b", "a//b", "/abs", "a/", ".", "..a", "a/.b", "\x00", "a\\..\\b"} {
		f.Add(k)
	}
	root := "/data/objects"
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+"/") {
			t.Fatalf("key %q escapes the root: %q", key, p)
		}
		if p != root+"/"+key {
			t.Fatalf("key %q is normalised to %q", key, p)
		}
	})
}
