package storage

import (
	"context"
	"testing"
	"unsafe"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/objstore"
)

// TestDecodeFromMapping runs the query node's load path: the data node puts
// binlogs in the object store, the query node maps them (a read-only mmap
// for the local store, so any write by the decoder would fault) and decodes
// in place.
func TestDecodeFromMapping(t *testing.T) {
	ctx := context.Background()
	local, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	stores := map[string]objstore.Store{"local": local, "memory": objstore.NewMemory()}
	for name, st := range stores {
		for i, nc := range sampleColumns(11, 33) {
			key := InsertLogPath(1, 2, 3, int64(100+i), 7)
			if err := st.Put(ctx, key, mustEncode(t, nc.col)); err != nil {
				t.Fatal(err)
			}
			m, err := st.Map(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeColumn(m.Bytes())
			if err != nil {
				t.Fatalf("%s %s: %v", name, nc.name, err)
			}
			if err := columnsEqual(nc.col, got); err != nil {
				t.Fatalf("%s %s: %v", name, nc.name, err)
			}
			if fv, ok := got.(*column.FloatVector); ok && !within(unsafe.Pointer(&fv.Data[0]), m.Bytes()) {
				t.Errorf("%s %s: vectors were copied out of the mapping", name, nc.name)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
