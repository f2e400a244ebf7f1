package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says how to reach an S3-compatible server (MinIO, AWS S3,
// versitygw, ...).
type S3Config struct {
	// Endpoint is host:port, without a scheme ("localhost:9000",
	// "s3.amazonaws.com").
	Endpoint string
	// UseSSL selects https.
	UseSSL bool
	// Region, when the server needs one ("us-east-1").
	Region string
	// Bucket holds the objects.
	Bucket string
	// AccessKey and SecretKey are static credentials. When both are empty
	// the standard AWS environment variables and IAM sources are used.
	AccessKey, SecretKey string
	// RootPath prefixes every key inside the bucket ("milvago" ->
	// "milvago/<key>"), so that stores can share a bucket. Empty: none.
	RootPath string
	// CreateBucket creates Bucket when it does not exist.
	CreateBucket bool
}

// S3 is the Store over an S3-compatible server. S3 itself makes a Put
// atomic and durable once it returns. Map reads the object into memory.
// Unlike Local, "a" and "a/b" can coexist.
type S3 struct {
	cli    *minio.Client
	core   minio.Core // single-request GETs (minio.Object re-requests with If-Match)
	bucket string
	root   string // "" or ends with "/"
	logger *slog.Logger
	closed atomic.Bool
}

var _ Store = (*S3)(nil)

// NewS3 connects to the server in cfg and checks that the bucket exists
// (creating it when cfg.CreateBucket is set). A nil logger discards.
func NewS3(ctx context.Context, cfg S3Config, logger *slog.Logger) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("objstore: s3: endpoint and bucket are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
		})
	}
	cli, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  creds,
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: s3 %s: %w", cfg.Endpoint, err)
	}
	ok, err := cli.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("objstore: s3 %s: bucket %q: %w", cfg.Endpoint, cfg.Bucket, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("objstore: s3 %s: bucket %q does not exist", cfg.Endpoint, cfg.Bucket)
		}
		err := cli.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && s3Code(err) != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("objstore: s3 %s: create bucket %q: %w", cfg.Endpoint, cfg.Bucket, err)
		}
	}
	root := strings.Trim(cfg.RootPath, "/")
	if root != "" {
		root += "/"
	}
	return &S3{
		cli:    cli,
		core:   minio.Core{Client: cli},
		bucket: cfg.Bucket,
		root:   root,
		logger: logger.With("component", "objstore", "bucket", cfg.Bucket, "root", root),
	}, nil
}

func s3Code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// s3Err maps a not-found or bad-range answer to ErrNotFound or
// ErrOutOfRange, keeping the server's error in the chain.
func s3Err(err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	case resp.Code == "InvalidRange" || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%w (%w)", ErrOutOfRange, err)
	}
	return err
}

// check fails calls on a closed store or with an ended ctx.
func (s *S3) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// checkKey is check plus ValidateKey.
func (s *S3) checkKey(ctx context.Context, key string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return ValidateKey(key)
}

// RootPath returns the prefix the store adds to every key ("" or ending in "/").
func (s *S3) RootPath() string { return s.root }

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	if err := s.checkKey(ctx, key); err != nil {
		return fmt.Errorf("objstore: put %q: %w", key, err)
	}
	_, err := s.cli.PutObject(ctx, s.bucket, s.root+key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("objstore: put %q: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.checkKey(ctx, key); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	body, info, _, err := s.core.GetObject(ctx, s.bucket, s.root+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, s3Err(err))
	}
	defer body.Close()
	buf := make([]byte, info.Size) // Content-Length
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, s3Err(err))
	}
	return buf, nil
}

// GetRange implements Store with one ranged GET (a Stat as well when
// length is 0). A range past the end comes back short or refused from S3;
// both are ErrOutOfRange.
func (s *S3) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if err := s.checkKey(ctx, key); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	if off < 0 || length < 0 || length > math.MaxInt64-off {
		return nil, fmt.Errorf("objstore: get %q: %w", key, checkRange(off, length, 0))
	}
	if length == 0 {
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := checkRange(off, 0, info.Size); err != nil {
			return nil, fmt.Errorf("objstore: get %q: %w", key, err)
		}
		return []byte{}, nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, off+length-1); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	body, info, _, err := s.core.GetObject(ctx, s.bucket, s.root+key, opts)
	if err != nil {
		return nil, fmt.Errorf("objstore: get %q [%d:+%d]: %w", key, off, length, s3Err(err))
	}
	defer body.Close()
	// info.Size is the Content-Length, short when the range runs past the
	// end. Never allocate from length.
	if info.Size != length {
		return nil, fmt.Errorf("objstore: get %q: %w: [%d:+%d], object ends at %d", key, ErrOutOfRange, off, length, off+info.Size)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, fmt.Errorf("objstore: get %q [%d:+%d]: %w", key, off, length, s3Err(err))
	}
	return buf, nil
}

// Map implements Store by reading the object into memory.
func (s *S3) Map(ctx context.Context, key string) (Mapping, error) {
	data, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return &memMapping{b: data}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := s.checkKey(ctx, key); err != nil {
		return ObjectInfo{}, fmt.Errorf("objstore: stat %q: %w", key, err)
	}
	info, err := s.cli.StatObject(ctx, s.bucket, s.root+key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("objstore: stat %q: %w", key, s3Err(err))
	}
	return ObjectInfo{Key: key, Size: info.Size}, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: list %q: %w", prefix, err)
	}
	out, err := s.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("objstore: list %q: %w", prefix, err)
	}
	return out, nil
}

func (s *S3) list(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister if we return early
	var out []ObjectInfo
	for o := range s.cli.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.root + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s3Err(o.Err)
		}
		key := strings.TrimPrefix(o.Key, s.root)
		if ValidateKey(key) != nil {
			continue // not written through a Store
		}
		out = append(out, ObjectInfo{Key: key, Size: o.Size})
	}
	// S3 lists in byte order already; servers that do not are sorted here.
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := s.checkKey(ctx, key); err != nil {
		return fmt.Errorf("objstore: delete %q: %w", key, err)
	}
	if err := s.cli.RemoveObject(ctx, s.bucket, s.root+key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s3Err(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("objstore: delete %q: %w", key, err)
	}
	return nil
}

// DeletePrefix implements Store with batched multi-object deletes.
func (s *S3) DeletePrefix(ctx context.Context, prefix string) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
	}
	objs, err := s.list(ctx, prefix)
	if err != nil {
		return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan minio.ObjectInfo)
	fed := make(chan struct{})
	defer func() { cancel(); <-fed }()
	go func() {
		defer close(fed)
		defer close(ch)
		for _, o := range objs {
			select {
			case ch <- minio.ObjectInfo{Key: s.root + o.Key}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var errs []error
	for e := range s.cli.RemoveObjects(ctx, s.bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.Err != nil && !errors.Is(s3Err(e.Err), ErrNotFound) {
			errs = append(errs, fmt.Errorf("%q: %w", e.ObjectName, e.Err))
		}
	}
	if err := context.Cause(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
	}
	return nil
}

// Close implements Store.
func (s *S3) Close() error {
	s.closed.Store(true)
	return nil
}
