// Package natscensus counts how an embedded NATS JetStream server holds its
// file store's message-block buffers: strongly (the server keeps them until
// its 10 s cache expiry) or only weakly (the collector may take them). It
// is a diagnostic for memory measurements (issue 12, docs/benchmarks.md
// natsmem12), read through reflection because nats-server exports none of
// it; it depends on nats-server v2.15.2's field names and returns an error,
// not a wrong count, if they change.
package natscensus

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/nats-io/nats-server/v2/server"
)

// Census is how an embedded server's file store holds its message
// blocks' buffers at one moment (issue 12, natsmem12): by a strong
// reference (the block's cache field or its elastic pointer made strong:
// the write cache of a block written with flush-in-place, or a block
// being read) or only by the weak pointer (a loaded block the collector
// may take). Bytes are the buffers' capacities: what the heap holds.
type Census struct {
	Blocks      int
	Strong      int // blocks whose buffer is strongly held
	StrongBytes int64
	// Field of the Strong blocks are held by the block's cache field (the
	// write path and a roll leave it set; a read clears it when done), the
	// others only by the elastic pointer made strong by a write.
	Field     int
	Weak      int // blocks whose buffer is only weakly held and not yet collected
	WeakBytes int64
}

func (c Census) String() string {
	return fmt.Sprintf("%d blocks: %d strong (%.1f MB; %d by the cache field), %d weak (%.1f MB)", c.Blocks,
		c.Strong, float64(c.StrongBytes)/(1<<20), c.Field, c.Weak, float64(c.WeakBytes)/(1<<20))
}

// Blocks counts the block buffers of stream's file store on srv. It takes
// the store's and each block's locks as the server does, so it is
// race-free against the server; the layout is checked before any lock is
// taken, so a changed nats-server gives an error, never a held lock.
func Blocks(srv *server.Server, stream string) (Census, error) {
	var c Census
	acc := srv.GlobalAccount()
	if acc == nil {
		return c, fmt.Errorf("natscensus: no global account")
	}
	if err := checkLayout(reflect.TypeOf(acc).Elem()); err != nil {
		return c, err
	}
	av := reflect.ValueOf(acc).Elem()
	amu := mutex(av)
	amu.RLock()
	jsa := field(av, "js")
	amu.RUnlock()
	if jsa.IsNil() {
		return c, fmt.Errorf("natscensus: jetstream not enabled")
	}
	jv := jsa.Elem()
	jmu := mutex(jv)
	jmu.RLock()
	mset := field(jv, "streams").MapIndex(reflect.ValueOf(stream))
	jmu.RUnlock()
	if !mset.IsValid() {
		return c, fmt.Errorf("natscensus: stream %s not found", stream)
	}
	store := field(mset.Elem(), "store")
	if store.IsNil() {
		return c, fmt.Errorf("natscensus: stream %s has no store", stream)
	}
	fs := store.Elem()
	if fs.Type().String() != "*server.fileStore" {
		return c, fmt.Errorf("natscensus: stream %s: store is %s, not a file store", stream, fs.Type())
	}
	if err := checkStoreLayout(fs.Type().Elem()); err != nil {
		return c, err
	}
	fsv := fs.Elem()
	fsmu := mutex(fsv)
	fsmu.RLock()
	blks := field(fsv, "blks")
	mbs := make([]reflect.Value, blks.Len())
	for i := range mbs {
		mbs[i] = blks.Index(i)
	}
	fsmu.RUnlock()
	for _, mb := range mbs {
		mv := mb.Elem()
		mmu := mutex(mv)
		mmu.RLock()
		c.Blocks++
		ec := field(mv, "ecache")
		strong := field(mv, "cache")
		if !strong.IsNil() {
			c.Field++
		} else {
			strong = field(ec, "strong")
		}
		if !strong.IsNil() {
			c.Strong++
			c.StrongBytes += int64(field(strong.Elem(), "buf").Cap())
		} else if weak := field(ec, "weak").MethodByName("Value").Call(nil)[0]; !weak.IsNil() {
			c.Weak++
			c.WeakBytes += int64(field(weak.Elem(), "buf").Cap())
		}
		mmu.RUnlock()
	}
	return c, nil
}

// checkLayout checks that every field Blocks reads on the way from the
// Account type to a stream's store exists with the kind it expects.
func checkLayout(account reflect.Type) error {
	if err := need(account, "mu", reflect.Struct); err != nil {
		return err
	}
	if err := need(account, "js", reflect.Pointer); err != nil {
		return err
	}
	jsa := typeOf(account, "js").Elem()
	if err := need(jsa, "mu", reflect.Struct); err != nil {
		return err
	}
	if err := need(jsa, "streams", reflect.Map); err != nil {
		return err
	}
	stream := typeOf(jsa, "streams").Elem()
	if stream.Kind() != reflect.Pointer {
		return fmt.Errorf("natscensus: nats-server changed: streams hold %s", stream)
	}
	return need(stream.Elem(), "store", reflect.Interface)
}

// checkStoreLayout checks the file store's fields down to a block's
// cache buffer.
func checkStoreLayout(fs reflect.Type) error {
	for _, f := range []struct {
		name string
		kind reflect.Kind
	}{{"mu", reflect.Struct}, {"blks", reflect.Slice}} {
		if err := need(fs, f.name, f.kind); err != nil {
			return err
		}
	}
	mb := typeOf(fs, "blks").Elem()
	if mb.Kind() != reflect.Pointer {
		return fmt.Errorf("natscensus: nats-server changed: blks hold %s", mb)
	}
	mb = mb.Elem()
	for _, f := range []struct {
		name string
		kind reflect.Kind
	}{{"mu", reflect.Struct}, {"ecache", reflect.Struct}, {"cache", reflect.Pointer}} {
		if err := need(mb, f.name, f.kind); err != nil {
			return err
		}
	}
	ec := typeOf(mb, "ecache")
	if err := need(ec, "strong", reflect.Pointer); err != nil {
		return err
	}
	if err := need(ec, "weak", reflect.Struct); err != nil {
		return err
	}
	if _, ok := typeOf(ec, "weak").MethodByName("Value"); !ok {
		return fmt.Errorf("natscensus: nats-server changed: %s has no Value method", typeOf(ec, "weak"))
	}
	return need(typeOf(mb, "cache").Elem(), "buf", reflect.Slice)
}

var rwMutex = reflect.TypeOf(sync.RWMutex{})

// need checks that struct type t has a field name of kind (a mutex field
// "mu" must be a sync.RWMutex).
func need(t reflect.Type, name string, kind reflect.Kind) error {
	f, ok := t.FieldByName(name)
	if !ok || f.Type.Kind() != kind || (name == "mu" && f.Type != rwMutex) {
		return fmt.Errorf("natscensus: nats-server changed: %s has no %s field %s", t, kind, name)
	}
	return nil
}

func typeOf(t reflect.Type, name string) reflect.Type {
	f, _ := t.FieldByName(name)
	return f.Type
}

func mutex(v reflect.Value) *sync.RWMutex {
	return (*sync.RWMutex)(unsafe.Pointer(field(v, "mu").UnsafeAddr()))
}

// field is v's field name, readable and addressable even if unexported
// (v must be addressable; checkLayout has checked that it exists).
func field(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}
