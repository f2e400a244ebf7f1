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
	"github.com/milvago/milvago/internal/testservers"
)

// TestS3Conformance runs the suite against a real S3 server: the one the
// environment names, or else a versitygw (posix backend) started for the
// test by testservers.StartS3, which needs its binary (MILVAGO_S3_BIN or
// versitygw on PATH; the test skips without it, and fails if CI=true):
//
//	MILVAGO_TEST_S3_ENDPOINT=127.0.0.1:7070 (host:port)
//	MILVAGO_TEST_S3_ACCESS_KEY, MILVAGO_TEST_S3_SECRET_KEY
//	MILVAGO_TEST_S3_BUCKET (default milvago-test, created when missing)
//	MILVAGO_TEST_S3_SSL=1 for https
//
// Every store gets its own root path in the bucket and deletes it at the end.
func TestS3Conformance(t *testing.T) {
	cfg := s3Server(t)
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return newS3(t, cfg) })
}

// s3Server returns the configuration of the test's S3 server (see
// TestS3Conformance) without a root path.
func s3Server(t *testing.T) objstore.S3Config {
	t.Helper()
	cfg := objstore.S3Config{Bucket: "milvago-test", CreateBucket: true}
	if endpoint := os.Getenv("MILVAGO_TEST_S3_ENDPOINT"); endpoint != "" {
		cfg.Endpoint = endpoint
		cfg.UseSSL = os.Getenv("MILVAGO_TEST_S3_SSL") == "1"
		cfg.AccessKey = os.Getenv("MILVAGO_TEST_S3_ACCESS_KEY")
		cfg.SecretKey = os.Getenv("MILVAGO_TEST_S3_SECRET_KEY")
		if b := os.Getenv("MILVAGO_TEST_S3_BUCKET"); b != "" {
			cfg.Bucket = b
		}
		return cfg
	}
	s := testservers.StartS3(t)
	cfg.Endpoint, cfg.Region = s.Endpoint, s.Region
	cfg.AccessKey, cfg.SecretKey = s.AccessKey, s.SecretKey
	return cfg
}

var s3Stores atomic.Int64

// newS3 returns a store with a fresh root path in cfg's bucket, removed at
// the end of the test.
func newS3(t *testing.T, cfg objstore.S3Config) objstore.Store {
	cfg.RootPath = fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), s3Stores.Add(1))
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
	s := newS3(t, s3Server(t))
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
