package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// tmpDir is the directory under the root where Put writes before renaming
// into place; NewLocal empties it (a crash can leave files there). Keys in
// it are rejected, and List skips it.
const tmpDir = ".objstore-tmp"

// Local is the Store over a directory: key "a/b/c" is the file dir/a/b/c.
//
// Put writes a temporary file in dir/.objstore-tmp, fsyncs it, renames it
// over the target and fsyncs the target's directory (and the parent of any
// directory it had to create), so after Put returns the object survives an
// OS crash, and readers see the old object or the new one, never a mix.
// Deletes are made durable too. Keeping every temporary file in one
// directory means a crash leaves nothing elsewhere and NewLocal need not
// walk the tree.
//
// A file system cannot hold both "a" and "a/b": a Put that would need a
// file to be a directory, or the reverse, fails with ErrInvalidKey.
// Milvago's key layout never does that.
type Local struct {
	root   string
	tmp    string // root/tmpDir
	closed atomic.Bool
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating it if needed) the store rooted at dir and
// removes temporary files left by an interrupted Put. Two Local stores must
// not share a directory.
func NewLocal(dir string) (*Local, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("objstore: local %s: %w", dir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("objstore: local %s: %w", dir, err)
	}
	tmp := filepath.Join(root, tmpDir)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("objstore: local %s: remove temporary files: %w", dir, err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("objstore: local %s: %w", dir, err)
	}
	return &Local{root: root, tmp: tmp}, nil
}

// Dir returns the store's root directory.
func (l *Local) Dir() string { return l.root }

func (l *Local) path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if key == tmpDir || strings.HasPrefix(key, tmpDir+"/") {
		return "", fmt.Errorf("%w: %q: %q is reserved", ErrInvalidKey, key, tmpDir)
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

func (l *Local) check(ctx context.Context) error {
	if l.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// isNotFound reports whether err from opening or reading a key's path
// means there is no such object.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, data []byte) error {
	if err := l.check(ctx); err != nil {
		return fmt.Errorf("objstore: put %q: %w", key, err)
	}
	p, err := l.path(key)
	if err != nil {
		return fmt.Errorf("objstore: put: %w", err)
	}
	for attempt := 0; ; attempt++ {
		err = l.put(key, p, func(f *os.File) error {
			_, err := f.Write(data)
			return err
		})
		// A concurrent Delete may remove the directory we just created
		// (it prunes empty parents): create it again.
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 5 {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("objstore: put %q: %w", key, err)
	}
	return nil
}

// put writes an object through write into a temporary file, fsyncs it
// and renames it to p.
func (l *Local) put(key, p string, write func(*os.File) error) error {
	dir := filepath.Dir(p)
	if err := l.mkdirAll(key, dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
			return fmt.Errorf("%w: %q is a prefix of other objects", ErrInvalidKey, key)
		}
		return err
	}
	ok = true
	return syncDir(dir)
}

// mkdirAll creates dir and its missing parents, fsyncing the parent of each
// directory it creates so that the new entries are durable.
func (l *Local) mkdirAll(key, dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %q: object %q is in the way", ErrInvalidKey, key, l.key(dir))
		}
		return nil
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %q: an object is in the way", ErrInvalidKey, key)
	}
	if !errors.Is(err, fs.ErrNotExist) || dir == l.root {
		return err
	}
	parent := filepath.Dir(dir)
	if err := l.mkdirAll(key, parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func (l *Local) key(p string) string {
	rel, _ := filepath.Rel(l.root, p)
	return filepath.ToSlash(rel)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get implements Store.
func (l *Local) Get(ctx context.Context, key string) ([]byte, error) {
	if err := l.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	p, err := l.path(key)
	if err != nil {
		return nil, fmt.Errorf("objstore: get: %w", err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, notFound(err))
	}
	return data, nil
}

func notFound(err error) error {
	if isNotFound(err) {
		return ErrNotFound
	}
	return err
}

// open opens key's file for reading and returns its size.
func (l *Local) open(key string) (*os.File, int64, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, ErrNotFound
	}
	return f, fi.Size(), nil
}

// GetRange implements Store.
func (l *Local) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if err := l.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	f, size, err := l.open(key)
	if err != nil {
		return nil, fmt.Errorf("objstore: get %q [%d:+%d]: %w", key, off, length, err)
	}
	defer f.Close()
	if err := checkRange(off, length, size); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(io.NewSectionReader(f, off, length), buf); err != nil {
		return nil, fmt.Errorf("objstore: get %q [%d:+%d]: %w", key, off, length, err)
	}
	return buf, nil
}

func checkRange(off, length, size int64) error {
	if off < 0 || length < 0 || off > size || length > size-off {
		return fmt.Errorf("%w: [%d:+%d] of %d bytes", ErrOutOfRange, off, length, size)
	}
	return nil
}

// Map implements Store with a read-only shared mmap of the file. The
// mapping keeps the file's contents even if the key is later deleted or
// replaced.
func (l *Local) Map(ctx context.Context, key string) (Mapping, error) {
	if err := l.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: map %q: %w", key, err)
	}
	f, size, err := l.open(key)
	if err != nil {
		return nil, fmt.Errorf("objstore: map %q: %w", key, err)
	}
	defer f.Close()
	if size == 0 {
		return &mmapping{b: []byte{}}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("objstore: map %q: %d bytes is too large", key, size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("objstore: map %q: mmap: %w", key, err)
	}
	return &mmapping{b: b, mapped: true}, nil
}

type mmapping struct {
	b      []byte
	mapped bool
	once   sync.Once

	evictedTo int // EvictBelow's progress: b[:evictedTo] was dropped
}

func (m *mmapping) Bytes() []byte { return m.b }

// Evict drops the mapping's pages from the process's resident set
// (madvise MADV_DONTNEED). The bytes stay valid: a later read faults them
// back in from the page cache or the file. Loaders call it after a
// checksum pass has touched every page of a file that is mostly not read
// afterwards (a vector column whose index carries its own copy).
func (m *mmapping) Evict() {
	if m.mapped && len(m.b) > 0 {
		_ = unix.Madvise(m.b, unix.MADV_DONTNEED) // advice only: failure costs memory, not correctness
	}
}

// EvictBelow drops the pages wholly inside b[:off] from the resident set,
// as Evict does for all of them, skipping those a previous call dropped: a
// checksum pass calls it as it goes (storage.DecodeColumnPaging), so a
// file it pages in to check is never resident all at once. Not safe for
// concurrent use (a loader reads one mapping at a time).
func (m *mmapping) EvictBelow(off int) {
	if !m.mapped {
		return
	}
	end := min(off, len(m.b)) &^ (pageSize - 1)
	if end <= m.evictedTo {
		return
	}
	_ = unix.Madvise(m.b[m.evictedTo:end], unix.MADV_DONTNEED) // advice only: failure costs memory, not correctness
	m.evictedTo = end
}

// pageSize aligns EvictBelow's ranges (madvise takes whole pages).
var pageSize = unix.Getpagesize()

// AdviseRandom tells the kernel the mapping is read at random
// (madvise MADV_RANDOM): a fault reads the one page it needs instead of a
// readahead window around it. Indexes that search their file in place
// (DISKANN reads a few hundred bytes per graph node) would otherwise fill
// the page cache, and a memory limit smaller than the file, with pages
// nobody reads.
func (m *mmapping) AdviseRandom() {
	if m.mapped && len(m.b) > 0 {
		_ = unix.Madvise(m.b, unix.MADV_RANDOM) // advice only: failure costs I/O, not correctness
	}
}

func (m *mmapping) Close() error {
	var err error
	m.once.Do(func() {
		if m.mapped {
			err = unix.Munmap(m.b)
		}
		m.b = nil
	})
	if err != nil {
		return fmt.Errorf("objstore: munmap: %w", err)
	}
	return nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := l.check(ctx); err != nil {
		return ObjectInfo{}, fmt.Errorf("objstore: stat %q: %w", key, err)
	}
	p, err := l.path(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("objstore: stat: %w", err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("objstore: stat %q: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, fmt.Errorf("objstore: stat %q: %w", key, ErrNotFound)
	}
	return ObjectInfo{Key: key, Size: fi.Size()}, nil
}

// List implements Store. It walks only the directory named by prefix up to
// its last "/", pruning subdirectories that cannot match.
func (l *Local) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := l.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: list %q: %w", prefix, err)
	}
	out, err := l.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("objstore: list %q: %w", prefix, err)
	}
	return out, nil
}

func (l *Local) list(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	start := l.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir := prefix[:i]
		if ValidateKey(dir) != nil {
			return nil, nil // no key can start with prefix
		}
		start = filepath.Join(l.root, filepath.FromSlash(dir))
	}
	var out []ObjectInfo
	n := 0
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// Gone (a concurrent delete) or not a directory (prefix
			// names an object): nothing to list there.
			if isNotFound(err) {
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			return err
		}
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if p == l.tmp {
			return fs.SkipDir
		}
		key := l.key(p)
		if d.IsDir() {
			if p == l.root || p == start {
				return nil
			}
			k := key + "/"
			if !strings.HasPrefix(k, prefix) && !strings.HasPrefix(prefix, k) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		out = append(out, ObjectInfo{Key: key, Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := l.check(ctx); err != nil {
		return fmt.Errorf("objstore: delete %q: %w", key, err)
	}
	p, err := l.path(key)
	if err != nil {
		return fmt.Errorf("objstore: delete: %w", err)
	}
	removed, err := l.remove(p)
	if err != nil {
		return fmt.Errorf("objstore: delete %q: %w", key, err)
	}
	if removed {
		if err := l.syncAndPrune(filepath.Dir(p)); err != nil {
			return fmt.Errorf("objstore: delete %q: %w", key, err)
		}
	}
	return nil
}

// remove deletes the file at p, reporting whether there was one.
func (l *Local) remove(p string) (bool, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if fi.IsDir() {
		return false, nil
	}
	if err := os.Remove(p); err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// syncAndPrune makes a removal in dir durable, then removes dir and its
// parents (below the root) while they are empty.
func (l *Local) syncAndPrune(dir string) error {
	if err := syncDir(dir); err != nil && !isNotFound(err) {
		return err
	}
	for d := dir; d != l.root && strings.HasPrefix(d, l.root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break // not empty, or gone
		}
	}
	return nil
}

// DeletePrefix implements Store.
func (l *Local) DeletePrefix(ctx context.Context, prefix string) error {
	if err := l.check(ctx); err != nil {
		return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
	}
	objs, err := l.list(ctx, prefix)
	if err != nil {
		return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
	}
	dirs := map[string]struct{}{}
	for i, o := range objs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
			}
		}
		p := filepath.Join(l.root, filepath.FromSlash(o.Key))
		if _, err := l.remove(p); err != nil {
			return fmt.Errorf("objstore: delete prefix %q: %q: %w", prefix, o.Key, err)
		}
		dirs[filepath.Dir(p)] = struct{}{}
	}
	// Deepest first, so that pruning a child empties its parent.
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	slices.SortFunc(sorted, func(a, b string) int { return strings.Compare(b, a) })
	for _, d := range sorted {
		if err := l.syncAndPrune(d); err != nil {
			return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
		}
	}
	return nil
}

// Close implements Store. Mappings stay valid until their own Close.
func (l *Local) Close() error {
	l.closed.Store(true)
	return nil
}
