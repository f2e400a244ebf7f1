package objstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/objstoretest"
)

// TestS3Conformance runs against a server named by the environment:
//
//	MILVAGO_TEST_S3_ENDPOINT=127.0.0.1:7070 (required, host:port)
//	MILVAGO_TEST_S3_ACCESS_KEY, MILVAGO_TEST_S3_SECRET_KEY
//	MILVAGO_TEST_S3_BUCKET (default milvago-test, created when missing)
//	MILVAGO_TEST_S3_SSL=1 for https
//
// Every store gets its own root path in the bucket and deletes it at the end.
func TestS3Conformance(t *testing.T) {
	objstoretest.Run(t, newS3)
}

var s3Stores atomic.Int64

// newS3 returns a store with a fresh root path in the test bucket, removed
// at the end of the test; it skips the test when no server is configured.
func newS3(t *testing.T) objstore.Store {
	endpoint := os.Getenv("MILVAGO_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Skip("MILVAGO_TEST_S3_ENDPOINT not set")
	}
	cfg := objstore.S3Config{
		Endpoint:     endpoint,
		UseSSL:       os.Getenv("MILVAGO_TEST_S3_SSL") == "1",
		Bucket:       os.Getenv("MILVAGO_TEST_S3_BUCKET"),
		AccessKey:    os.Getenv("MILVAGO_TEST_S3_ACCESS_KEY"),
		SecretKey:    os.Getenv("MILVAGO_TEST_S3_SECRET_KEY"),
		RootPath:     fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), s3Stores.Add(1)),
		CreateBucket: true,
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "milvago-test"
	}
	s, err := objstore.NewS3(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The test may have closed s: clean up through another store.
		s2, err := objstore.NewS3(context.Background(), cfg, nil)
		if err == nil {
			s2.DeletePrefix(context.Background(), "")
		}
	})
	return s
}

// TestS3Multipart puts an object large enough for a multipart upload (the
// path gofakes3 corrupts) and reads it back whole and in ranges.
func TestS3Multipart(t *testing.T) {
	s := newS3(t)
	ctx := context.Background()
	data := make([]byte, 40<<20+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	if err := s.Put(ctx, "big/multipart", data); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "big/multipart")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get of a multipart object: equal=%v, %v", bytes.Equal(got, data), err)
	}
	part, err := s.GetRange(ctx, "big/multipart", 16<<20-5, 10)
	if err != nil || !bytes.Equal(part, data[16<<20-5:16<<20+5]) {
		t.Fatalf("GetRange across a part boundary: %v", err)
	}
}
