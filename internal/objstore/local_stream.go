package objstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// PutFrom stores what src writes under key, streamed to the object's file
// through a small buffer: an object that is the serialization of something
// large (a built index) never exists in memory as a whole. It is durable
// (fsynced) when PutFrom returns, and replaces key atomically, as Put. It
// returns the object's size. src must write the same bytes each time it is
// asked: a write the directory pruning of a concurrent Delete disturbed is
// made again.
func (l *Local) PutFrom(ctx context.Context, key string, src io.WriterTo) (int64, error) {
	if err := l.check(ctx); err != nil {
		return 0, fmt.Errorf("objstore: put %q: %w", key, err)
	}
	p, err := l.path(key)
	if err != nil {
		return 0, fmt.Errorf("objstore: put: %w", err)
	}
	var n int64
	for attempt := 0; ; attempt++ {
		err = l.put(key, p, func(f *os.File) error {
			w := bufio.NewWriterSize(f, 1<<20)
			var err error
			if n, err = src.WriteTo(w); err != nil {
				return err
			}
			return w.Flush()
		})
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 5 {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("objstore: put %q: %w", key, err)
	}
	return n, nil
}
