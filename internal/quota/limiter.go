package quota

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/errs"
)

// Kind is what a request does, for its limits.
type Kind int

const (
	Insert        Kind = iota // n: bytes
	Upsert                    // n: bytes
	Delete                    // n: bytes of the expression or keys
	Search                    // n: query vectors
	Query                     // n: 1
	Flush                     // n: 1, per collection
	DDLCollection             // n: 1
	DDLPartition              // n: 1
)

var kindNames = [...]string{"insert", "upsert", "delete", "search", "query", "flush", "collection DDL", "partition DDL"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

func (k Kind) writes() bool { return k == Insert || k == Upsert }

// Config is quotaAndLimits.*. A rate < 0 is unlimited; DML rates are in
// MB/s, Search in vectors/s, the others in requests/s.
type Config struct {
	Enabled                            bool
	DMLEnabled, DQLEnabled, DDLEnabled bool
	InsertRate, InsertRateCollection   float64
	DeleteRate                         float64
	SearchRate, QueryRate              float64
	CollectionRate, PartitionRate      float64
	FlushEnabled                       bool
	FlushRate, FlushRateCollection     float64
	ForceDenyWriting, ForceDenyReading bool
	MemProtection                      bool
	MemoryHighWaterLevel               float64 // fraction of memory in use
	DiskProtection                     bool
	DiskHighWaterLevel                 float64 // fraction of the data disk in use
	DiskQuotaBytes                     int64   // <= 0: none
	CollectInterval                    time.Duration
	Probe                              Probe // nil: no memory or disk sampling
}

// Probe measures memory and disk. Each returns used and total bytes.
type Probe interface {
	Memory() (used, total uint64, err error)
	// Disk is the data directory's file system.
	Disk() (used, total uint64, err error)
	// DataBytes is the size of the data directory (for diskQuota).
	DataBytes() (int64, error)
}

const mb = 1 << 20

// Limiter admits or refuses requests. The zero value and nil admit all.
type Limiter struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	global  map[Kind]*bucket
	perColl map[collKind]*bucket

	denyWrites atomic.Pointer[string] // reason writes are refused, nil: admitted
}

type collKind struct {
	coll int64
	kind Kind
}

// New returns a limiter for cfg.
func New(cfg Config, logger *slog.Logger) *Limiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Limiter{cfg: cfg, logger: logger.With("component", "quota"), now: time.Now,
		global: map[Kind]*bucket{}, perColl: map[collKind]*bucket{}}
}

// Admit decides one request of kind on a collection (0: none), of size n
// in the kind's unit. It returns Milvus's error when the request is
// refused.
func (l *Limiter) Admit(_ context.Context, kind Kind, collectionID int64, n int) error {
	if l == nil || !l.cfg.Enabled {
		return nil
	}
	if kind.writes() {
		if l.cfg.ForceDenyWriting {
			return quotaExceeded(forceDenyMsg)
		}
		if reason := l.denyWrites.Load(); reason != nil {
			return quotaExceeded(*reason)
		}
	}
	if (kind == Search || kind == Query) && l.cfg.ForceDenyReading {
		return quotaExceeded(forceDenyMsg)
	}
	global, perColl := l.rates(kind)
	if global < 0 && perColl < 0 {
		return nil
	}
	units := float64(n)
	if kind == Insert || kind == Upsert || kind == Delete {
		units /= mb
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if perColl >= 0 && collectionID != 0 {
		k := collKind{collectionID, kind}
		b := l.perColl[k]
		if b == nil {
			b = newBucket(perColl, now)
			l.perColl[k] = b
		}
		if !b.take(now, units) {
			return rateLimited(perColl)
		}
	}
	if global >= 0 {
		b := l.global[kind]
		if b == nil {
			b = newBucket(global, now)
			l.global[kind] = b
		}
		if !b.take(now, units) {
			return rateLimited(global)
		}
	}
	return nil
}

// Forget drops a dropped collection's buckets.
func (l *Limiter) Forget(collectionID int64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.perColl {
		if k.coll == collectionID {
			delete(l.perColl, k)
		}
	}
}

// rates returns the global and per-collection rate of kind (< 0: none).
func (l *Limiter) rates(kind Kind) (global, perColl float64) {
	c := l.cfg
	switch kind {
	case Insert, Upsert:
		if c.DMLEnabled {
			return c.InsertRate, c.InsertRateCollection
		}
	case Delete:
		if c.DMLEnabled {
			return c.DeleteRate, -1
		}
	case Search:
		if c.DQLEnabled {
			return c.SearchRate, -1
		}
	case Query:
		if c.DQLEnabled {
			return c.QueryRate, -1
		}
	case Flush:
		if c.FlushEnabled {
			return c.FlushRate, c.FlushRateCollection
		}
	case DDLCollection:
		if c.DDLEnabled {
			return c.CollectionRate, -1
		}
	case DDLPartition:
		if c.DDLEnabled {
			return c.PartitionRate, -1
		}
	}
	return -1, -1
}

// Milvus's texts (pkg/util/ratelimitutil, internal/util/ratelimitutil).
const (
	forceDenyMsg   = "access has been disabled by the administrator"
	memoryQuotaMsg = "memory quota exceeded, please allocate more resources"
	diskQuotaMsg   = "disk quota exceeded, please allocate more resources"
	rateLimitMsg   = "request is rejected by grpc RateLimiter middleware, please retry later"
)

// fieldError renders as merr's wrapped errors: "<reason>: <msg>[k=v]" or
// "<msg>[k=v]".
type fieldError struct {
	base   *errs.Error
	field  string
	reason string
}

func (e *fieldError) Error() string {
	if e.reason == "" {
		return e.base.Msg + e.field
	}
	return e.reason + ": " + e.base.Msg + e.field
}

func (e *fieldError) Unwrap() error { return e.base }

// quotaExceeded is merr.WrapErrServiceQuotaExceeded: "quota exceeded[reason=...]".
func quotaExceeded(reason string) error {
	return &fieldError{base: errs.ErrServiceQuotaExceeded, field: "[reason=" + reason + "]"}
}

// rateLimited is the rate limiter's error: "request is rejected by grpc
// RateLimiter middleware, please retry later: rate limit exceeded[rate=0.1]".
func rateLimited(rate float64) error {
	return &fieldError{base: errs.ErrServiceRateLimit, field: fmt.Sprintf("[rate=%v]", rate), reason: rateLimitMsg}
}
