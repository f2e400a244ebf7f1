// Package objstoretest holds the conformance suite every objstore.Store
// implementation runs, and a fault-injecting wrapper for tests of code
// that uses a store.
package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/objstore"
)

// Run runs the conformance suite. newStore returns an empty store; Run
// closes it at the end of each subtest.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	open := func(t *testing.T) objstore.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, s objstore.Store)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"InvalidKeys", testInvalidKeys},
		{"Range", testRange},
		{"Stat", testStat},
		{"List", testList},
		{"Delete", testDelete},
		{"DeletePrefix", testDeletePrefix},
		{"Map", testMap},
		{"Concurrent", testConcurrent},
		{"Large", testLarge},
		{"Context", testContext},
		{"Closed", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, open(t))
		})
	}
}

func put(t *testing.T, s objstore.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantGet(t *testing.T, s objstore.Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, trunc(got), trunc(want))
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// fill fills b with pseudo-random bytes from seed.
func fill(b []byte, seed uint64) {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	r.Read(b)
}

func keys(infos []objstore.ObjectInfo) []string {
	out := make([]string, len(infos))
	for i, o := range infos {
		out[i] = o.Key
	}
	return out
}

func testPutGet(t *testing.T, s objstore.Store) {
	put(t, s, "a", []byte("alpha"))
	put(t, s, "insert_log/1/2/3/100/7", []byte("binlog"))
	put(t, s, "empty", nil)
	wantGet(t, s, "a", []byte("alpha"))
	wantGet(t, s, "insert_log/1/2/3/100/7", []byte("binlog"))
	wantGet(t, s, "empty", []byte{})

	// The store must not keep the caller's slice, nor hand out its own.
	buf := []byte("original")
	put(t, s, "copy", buf)
	copy(buf, "XXXXXXXX")
	wantGet(t, s, "copy", []byte("original"))
	got, _ := s.Get(context.Background(), "copy")
	copy(got, "YYYYYYYY")
	wantGet(t, s, "copy", []byte("original"))
}

func testOverwrite(t *testing.T, s objstore.Store) {
	put(t, s, "k/v", []byte("first, longer value"))
	put(t, s, "k/v", []byte("second"))
	wantGet(t, s, "k/v", []byte("second"))
	info, err := s.Stat(context.Background(), "k/v")
	if err != nil || info.Size != 6 {
		t.Fatalf("Stat = %+v, %v; want size 6", info, err)
	}
	l, err := s.List(context.Background(), "k/")
	if err != nil || len(l) != 1 {
		t.Fatalf("List after overwrite = %v, %v; want one object", l, err)
	}
}

func testNotFound(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	put(t, s, "dir/obj", []byte("x"))
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/obj/below", "nodir/x"} {
		_, err := s.Get(ctx, key)
		wantNotFound(t, fmt.Sprintf("Get(%q)", key), err)
		_, err = s.GetRange(ctx, key, 0, 0)
		wantNotFound(t, fmt.Sprintf("GetRange(%q)", key), err)
		_, err = s.Stat(ctx, key)
		wantNotFound(t, fmt.Sprintf("Stat(%q)", key), err)
		_, err = s.Map(ctx, key)
		wantNotFound(t, fmt.Sprintf("Map(%q)", key), err)
	}
}

func testInvalidKeys(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", "nul\x00"} {
		err := s.Put(ctx, key, []byte("x"))
		if !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q): err = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Get(ctx, key); err == nil {
			t.Errorf("Get(%q) succeeded", key)
		}
	}
	// Odd but valid names.
	for _, key := range []string{"..a", "a..", "a b", "a/.hidden", "ü/ß", "a:b"} {
		put(t, s, key, []byte(key))
		wantGet(t, s, key, []byte(key))
	}
}

func testRange(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	data := []byte("0123456789")
	put(t, s, "r", data)
	f := func(off, length int64, want string) {
		t.Helper()
		got, err := s.GetRange(ctx, "r", off, length)
		if err != nil {
			t.Fatalf("GetRange(%d, %d): %v", off, length, err)
		}
		if string(got) != want {
			t.Fatalf("GetRange(%d, %d) = %q, want %q", off, length, got, want)
		}
	}
	f(0, 10, "0123456789")
	f(0, 1, "0")
	f(3, 4, "3456")
	f(9, 1, "9")
	f(10, 0, "")
	f(4, 0, "")
	bad := func(off, length int64) {
		t.Helper()
		_, err := s.GetRange(ctx, "r", off, length)
		if !errors.Is(err, objstore.ErrOutOfRange) {
			t.Fatalf("GetRange(%d, %d): err = %v, want ErrOutOfRange", off, length, err)
		}
	}
	bad(0, 11)
	bad(5, 6)
	bad(11, 0)
	bad(-1, 2)
	bad(2, -1)
	bad(1, 1<<62)
}

func testStat(t *testing.T, s objstore.Store) {
	put(t, s, "s/one", make([]byte, 1234))
	put(t, s, "s/zero", nil)
	for key, size := range map[string]int64{"s/one": 1234, "s/zero": 0} {
		info, err := s.Stat(context.Background(), key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if info.Key != key || info.Size != size {
			t.Fatalf("Stat(%q) = %+v, want size %d", key, info, size)
		}
	}
}

func testList(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	all := []string{
		"a", "a-b", "a.c", "ab", "abc/d/e", "abd/c", "b/1", "b/10", "b/2", "b/x/y/z",
		"insert_log/1/10/100/1", "insert_log/1/10/101/1", "insert_log/1/11/100/1", "insert_log/12/1/1/1",
	}
	shuffled := slices.Clone(all)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for i, k := range shuffled {
		put(t, s, k, bytes.Repeat([]byte{'x'}, i))
	}
	f := func(prefix string, want ...string) {
		t.Helper()
		got, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if !slices.Equal(keys(got), want) {
			t.Fatalf("List(%q) = %q, want %q", prefix, keys(got), want)
		}
		for _, o := range got {
			i := slices.Index(shuffled, o.Key)
			if o.Size != int64(i) {
				t.Fatalf("List(%q): %q has size %d, want %d", prefix, o.Key, o.Size, i)
			}
		}
	}
	f("", all...)
	f("a", "a", "a-b", "a.c", "ab", "abc/d/e", "abd/c")
	f("ab", "ab", "abc/d/e", "abd/c")
	f("ab/")
	f("abd/", "abd/c")
	f("abc", "abc/d/e")
	f("abc/d", "abc/d/e")
	f("b/1", "b/1", "b/10")
	f("b/", "b/1", "b/10", "b/2", "b/x/y/z")
	f("b/x/y/z", "b/x/y/z")
	f("b/x/y/z/")
	f("insert_log/1", "insert_log/1/10/100/1", "insert_log/1/10/101/1", "insert_log/1/11/100/1", "insert_log/12/1/1/1")
	f("insert_log/1/", "insert_log/1/10/100/1", "insert_log/1/10/101/1", "insert_log/1/11/100/1")
	f("insert_log/1/10/10", "insert_log/1/10/100/1", "insert_log/1/10/101/1")
	f("c")
	f("zzz/")
	f("../")
	f("a//")
}

func testDelete(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	put(t, s, "d/x/1", []byte("1"))
	put(t, s, "d/x/2", []byte("2"))
	for range 2 { // idempotent
		if err := s.Delete(ctx, "d/x/1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := s.Delete(ctx, "d"); err != nil { // a prefix, not an object
		t.Fatalf("Delete of a prefix: %v", err)
	}
	_, err := s.Get(ctx, "d/x/1")
	wantNotFound(t, "Get after Delete", err)
	wantGet(t, s, "d/x/2", []byte("2"))
	if err := s.Delete(ctx, "d/x/2"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.List(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("List after deleting everything = %v, %v", l, err)
	}
	// The prefix is usable again.
	put(t, s, "d/x/3", []byte("3"))
	wantGet(t, s, "d/x/3", []byte("3"))
}

func testDeletePrefix(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	for _, k := range []string{"seg/1/a", "seg/1/b/c", "seg/10/a", "seg/2/a", "segment", "other/1"} {
		put(t, s, k, []byte(k))
	}
	dp := func(prefix string, want ...string) {
		t.Helper()
		if err := s.DeletePrefix(ctx, prefix); err != nil {
			t.Fatalf("DeletePrefix(%q): %v", prefix, err)
		}
		got, err := s.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(keys(got), want) {
			t.Fatalf("after DeletePrefix(%q): %q, want %q", prefix, keys(got), want)
		}
	}
	dp("seg/1/", "other/1", "seg/10/a", "seg/2/a", "segment")
	dp("seg/1", "other/1", "seg/2/a", "segment")
	dp("nothing/", "other/1", "seg/2/a", "segment")
	dp("seg", "other/1")
	put(t, s, "seg/1/a", []byte("again"))
	wantGet(t, s, "seg/1/a", []byte("again"))
	dp("")
}

func testMap(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	data := make([]byte, 100_003)
	fill(data, 3)
	put(t, s, "m/data", data)
	put(t, s, "m/empty", nil)

	m, err := s.Map(ctx, "m/data")
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if !bytes.Equal(m.Bytes(), data) {
		t.Fatal("Map bytes differ from Put")
	}
	// The mapping survives the deletion and the replacement of its key.
	if err := s.Delete(ctx, "m/data"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "m/data", []byte("replaced"))
	if !bytes.Equal(m.Bytes(), data) {
		t.Fatal("Map bytes changed after Delete and Put of the key")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Mapping.Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Mapping.Close: %v", err)
	}

	e, err := s.Map(ctx, "m/empty")
	if err != nil {
		t.Fatalf("Map of an empty object: %v", err)
	}
	if len(e.Bytes()) != 0 {
		t.Fatalf("Map of an empty object has %d bytes", len(e.Bytes()))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func testConcurrent(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("c/%d/%d", w, i)
				val := []byte(key)
				if err := s.Put(ctx, key, val); err != nil {
					errc <- err
					return
				}
				// Everybody writes the shared key: readers must see one
				// whole value, never a mix.
				shared := bytes.Repeat([]byte{byte('a' + w)}, 4096)
				if err := s.Put(ctx, "c/shared", shared); err != nil {
					errc <- err
					return
				}
				got, err := s.Get(ctx, key)
				if err != nil || !bytes.Equal(got, val) {
					errc <- fmt.Errorf("Get(%q) = %q, %v", key, got, err)
					return
				}
				sh, err := s.Get(ctx, "c/shared")
				if err != nil || len(sh) != 4096 || bytes.Count(sh, sh[:1]) != 4096 {
					errc <- fmt.Errorf("Get(shared): torn or failed: %v", err)
					return
				}
				if i%5 == 0 {
					// Deleting a sibling empties directories that other
					// workers may be creating.
					if err := s.DeletePrefix(ctx, fmt.Sprintf("c/%d/", w)); err != nil {
						errc <- err
						return
					}
				}
				if _, err := s.List(ctx, "c/"); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func testLarge(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	data := make([]byte, 8<<20)
	fill(data, 5)
	put(t, s, "big/8MiB", data)
	wantGet(t, s, "big/8MiB", data)
	got, err := s.GetRange(ctx, "big/8MiB", 3<<20+7, 1<<20)
	if err != nil || !bytes.Equal(got, data[3<<20+7:4<<20+7]) {
		t.Fatalf("GetRange in a large object: %v", err)
	}
	m, err := s.Map(ctx, "big/8MiB")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !bytes.Equal(m.Bytes(), data) {
		t.Fatal("Map of a large object differs")
	}
}

func testContext(t *testing.T, s objstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "ctx/x", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a cancelled context: err = %v, want context.Canceled", err)
	}
	_, err := s.Get(context.Background(), "ctx/x")
	wantNotFound(t, "Get after a cancelled Put", err)
}

func testClosed(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	put(t, s, "k", []byte("v"))
	m, err := s.Map(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, objstore.ErrClosed) {
		t.Fatalf("Get after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Put(ctx, "k2", nil); !errors.Is(err, objstore.ErrClosed) {
		t.Fatalf("Put after Close: err = %v, want ErrClosed", err)
	}
	if string(m.Bytes()) != "v" {
		t.Fatal("a mapping did not survive Close of its store")
	}
	// Run closes the store again: Close is idempotent.
}
