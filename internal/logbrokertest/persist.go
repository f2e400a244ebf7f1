package logbrokertest

import (
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
)

// RunPersistent checks that a log opened again on the same directory has
// every acknowledged message, its truncation points and its numbering.
// open must open (or create) the log stored under dir; the suite closes
// every log it opens.
func RunPersistent(t *testing.T, open func(t *testing.T, dir string) logbroker.Log) {
	dir := t.TempDir()
	l := open(t, dir)
	ids := appendN(t, l, "ch", 10)
	other := appendN(t, l, "other", 3)
	if err := l.Truncate(ctx(t), "ch", ids[3]); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = open(t, dir)
	defer l.Close()
	expect(t, read(t, l, "ch", 0), "ch", ids[4:], 4)
	expect(t, read(t, l, "ch", ids[5]), "ch", ids[6:], 6)
	expect(t, read(t, l, "other", 0), "other", other, 0)
	if _, err := l.Read(ctx(t), "ch", ids[1]); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("read of a truncated position after reopening: %v, want ErrTruncated", err)
	}
	latest, err := l.Latest(ctx(t), "ch")
	if err != nil || latest != ids[9] {
		t.Fatalf("latest after reopening: %d, %v; want %d", latest, err, ids[9])
	}
	more := appendN(t, l, "ch", 2)
	if more[0] <= max(ids[9], other[2]) {
		t.Fatalf("append after reopening: id %d, last before %d", more[0], max(ids[9], other[2]))
	}
	expect(t, read(t, l, "ch", ids[9]), "ch", more, 0)
}
