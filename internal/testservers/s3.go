package testservers

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// S3Server is an S3 API server: versitygw with its posix backend, which
// keeps each bucket as a directory and each object as a file under Dir.
// It is a real, independent S3 implementation (not linked into Milvago);
// versitygw v1.8.0 builds with go1.26.
type S3Server struct {
	*Process
	// Endpoint is "127.0.0.1:PORT" (plain HTTP), as objstore.S3Config wants.
	Endpoint string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey, SecretKey string
	// Region is the server's region.
	Region string
	// Root is the posix backend's directory: bucket B's object K is the
	// file Root/B/K (tests read or damage objects there).
	Root string
}

// StartS3 starts an S3 server (the versitygw binary from MILVAGO_S3_BIN or
// "versitygw" on PATH) with no buckets, and returns once it answers HTTP.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := Binary(t, "MILVAGO_S3_BIN", "versitygw")
	dir := t.TempDir()
	root := filepath.Join(dir, "buckets")
	mkdir(t, root)
	s := &S3Server{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		AccessKey: "milvago-test",
		SecretKey: "milvago-test-secret",
		Region:    "us-east-1",
		Root:      root,
	}
	args := []string{
		"--port", s.Endpoint,
		"--access", s.AccessKey,
		"--secret", s.SecretKey,
		"--region", s.Region,
		"--quiet",
		"posix", root,
	}
	url := "http://" + s.Endpoint + "/"
	s.Process = newProcess(t, "versitygw", dir, bin, args, func(ctx context.Context) error {
		// An unsigned request is refused, but any S3 answer means it serves.
		return httpCheck(ctx, url, 0, "")
	})
	start := time.Now()
	startAll(t, []*Process{s.Process})
	t.Logf("s3 server ready in %v at %s", time.Since(start).Round(time.Millisecond), s.Endpoint)
	return s
}
