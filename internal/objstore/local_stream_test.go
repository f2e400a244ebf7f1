package objstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

type writerTo struct {
	data []byte
	err  error
}

func (w writerTo) WriteTo(dst io.Writer) (int64, error) {
	n, err := dst.Write(w.data)
	if err == nil {
		err = w.err
	}
	return int64(n), err
}

// TestLocalPutFrom: a streamed object reads back as written; a failed
// stream leaves the previous object in place and no temporary file behind.
func TestLocalPutFrom(t *testing.T) {
	ctx := context.Background()
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := bytes.Repeat([]byte("index "), 500_000) // larger than the write buffer
	n, err := l.PutFrom(ctx, "idx/1/index", writerTo{data: data})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("PutFrom: %d, %v", n, err)
	}
	got, err := l.Get(ctx, "idx/1/index")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after PutFrom: %d bytes, %v", len(got), err)
	}
	boom := errors.New("serialize failed")
	if _, err := l.PutFrom(ctx, "idx/1/index", writerTo{data: []byte("half"), err: boom}); !errors.Is(err, boom) {
		t.Fatalf("failing PutFrom: %v", err)
	}
	if got, err := l.Get(ctx, "idx/1/index"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("a failed PutFrom replaced the object: %d bytes, %v", len(got), err)
	}
	objs, err := l.List(ctx, "")
	if err != nil || len(objs) != 1 {
		t.Fatalf("List: %v, %v", objs, err)
	}
}
