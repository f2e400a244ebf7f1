package quota

import (
	"context"
	"fmt"
	"log/slog"
	"math"
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
	Upsert                    // n: bytes (counted against the insert rates, as Milvus)
	Delete                    // n: bytes of the expression or keys
	Search                    // n: query vectors
	Query                     // n: 1
	Flush                     // n: 1, per collection
	DDLCollection             // n: 1
	DDLPartition              // n: 1
	BulkLoad                  // n: bytes
	DDLIndex                  // n: 1 (CreateIndex, DropIndex)
	Compaction                // n: 1 (ManualCompaction)
	DDLDB                     // n: 1 (CreateDatabase, DropDatabase, AlterDatabase)
)

var kindNames = [...]string{"insert", "upsert", "delete", "search", "query", "flush", "collection DDL", "partition DDL", "bulk load",
	"index DDL", "compaction", "database DDL"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// writes: refused by the write protection (memory, disk) and force deny.
func (k Kind) writes() bool { return k == Insert || k == Upsert || k == BulkLoad }

// dml: rates in MB/s, scaled down between the memory water levels.
func (k Kind) dml() bool { return k == Insert || k == Upsert || k == Delete || k == BulkLoad }

func (k Kind) reads() bool { return k == Search || k == Query }

// bucketKind is the kind whose buckets a request takes from: an upsert
// shares the insert buckets.
func (k Kind) bucketKind() Kind {
	if k == Upsert {
		return Insert
	}
	return k
}

// Rates are one kind's quotaAndLimits.<kind>.max, .db.max,
// .collection.max and .partition.max; < 0 is unlimited. CollectionMin is
// .collection.min: the floor below which the write protection does not
// scale a collection's DML rate (<= 0: none; the collection's .min.
// property overrides it).
type Rates struct {
	Max, DB, Collection, Partition float64
	CollectionMin                  float64
}

// Unlimited is Rates with every level unlimited.
var Unlimited = Rates{Max: -1, DB: -1, Collection: -1, Partition: -1}

// Config is the proxy's part of quotaAndLimits.*: the rates and the
// force-deny switches; the write protection's verdict comes from Source
// (the quota center). A rate < 0 is unlimited; DML rates are in MB/s,
// Search in vectors/s, the others in requests/s.
type Config struct {
	Enabled                            bool
	DMLEnabled, DQLEnabled, DDLEnabled bool
	Insert, Delete, BulkLoad           Rates // quotaAndLimits.dml.*Rate (upserts count as inserts)
	Search, Query                      Rates // quotaAndLimits.dql.*Rate
	// ddl.collectionRate, ddl.partitionRate and their ddl.db.* rates.
	CollectionRate, PartitionRate     float64
	CollectionRateDB, PartitionRateDB float64
	FlushEnabled                      bool
	FlushRate, FlushRateCollection    float64
	FlushRateDB                       float64
	// indexRate.*, compactionRate.* (max and db.max) and dbRate.max.
	IndexEnabled                       bool
	IndexRate, IndexRateDB             float64
	CompactionEnabled                  bool
	CompactionRate, CompactionRateDB   float64
	DBRateEnabled                      bool
	DBRate                             float64
	ForceDenyWriting, ForceDenyReading bool
	// CollectInterval is how often the verdict is fetched from Source.
	CollectInterval time.Duration
	Source          StatesSource // nil: no write protection
	// Requests counts every decision in RequestsMetric (nil: none).
	Requests *Requests
}

// Probe measures the data directory's disk (standalone).
type Probe interface {
	// Disk is the data directory's file system: used and total bytes.
	Disk() (used, total uint64, err error)
	// DataBytes is the size of the data directory.
	DataBytes() (int64, error)
}

const mb = 1 << 20

// Scope is where a request acts: its database (with its properties), its
// collection (with its properties; 0: none) and the partitions it names.
type Scope struct {
	DB         string
	DBProps    map[string]string
	Collection int64
	CollProps  map[string]string
	Partitions []int64
}

// Limiter admits or refuses requests. The zero value and nil admit all.
type Limiter struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket

	state atomic.Pointer[States] // the quota center's last verdict; nil: admit
	stale atomic.Bool            // the last fetch failed
	// proxies is how many proxies share every rate: the live proxies
	// this proxy sees in the proxies' sessions (SetProxies, followed by
	// ProxyMembers), else those the quota center last reported
	// (States.Proxies); 1 until either has (a proxy enforces the whole
	// configured rate before it hears, as Milvus's SimpleLimiter starts
	// from the configuration).
	proxies atomic.Int32
	// followed: SetProxies has set proxies, and the center's count is
	// not taken (it lags behind the sessions by up to one fetch).
	followed atomic.Bool
	// awaiting: AwaitProxies was called and SetProxies has not counted
	// the proxies yet; every request a rate applies to is refused.
	awaiting atomic.Bool
}

type level uint8

const (
	levelCluster level = iota
	levelDB
	levelCollection
	levelPartition
)

type bucketKey struct {
	level level
	db    string
	id    int64 // collection or partition
	kind  Kind
}

// New returns a limiter for cfg.
func New(cfg Config, logger *slog.Logger) *Limiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{cfg: cfg, logger: logger.With("component", "quota"), now: time.Now, buckets: map[bucketKey]*bucket{}}
	l.proxies.Store(1)
	return l
}

// Proxies is how many proxies this one shares every rate with (itself
// included): what the quota center last reported, 1 before.
func (l *Limiter) Proxies() int {
	if l == nil {
		return 1
	}
	return int(max(l.proxies.Load(), 1))
}

// AwaitProxies holds this proxy to a share of 0 of every rate (it
// refuses each request a rate applies to, with Milvus's rate-limit error,
// which clients retry) until SetProxies first counts the live proxies. A
// cluster proxy calls it before it serves: until it has listed the
// proxies' sessions it cannot know its share, and any other guess can
// admit more than the cluster's rate (the quota center's count may miss
// this proxy or be unreachable, and the whole rate, Milvus's start from
// the configuration, adds a full rate to the others' shares).
func (l *Limiter) AwaitProxies() {
	if l != nil {
		l.awaiting.Store(true)
	}
}

// SetProxies sets how many live proxies share every rate (this one
// included), as the proxies' sessions say: every bucket takes its new
// share at its next request (bucket.setRate), so a proxy that joins or
// leaves changes the others' shares at once rather than at their next
// fetch from the quota center, whose count is no longer taken. n < 1 is
// ignored.
func (l *Limiter) SetProxies(n int) {
	if l == nil || n < 1 {
		return
	}
	l.followed.Store(true)
	if l.awaiting.Swap(false) {
		l.logger.Info("the proxies' sessions are listed: the rate limits are shared", "proxies", n)
	}
	if old := l.proxies.Swap(int32(n)); old != int32(n) {
		l.logger.Info("the live proxies share the rate limits", "proxies", n, "before", old)
	}
}

// Admit decides one request of kind on a collection (0: none), of size n
// in the kind's unit, with no database or partition scope.
func (l *Limiter) Admit(ctx context.Context, kind Kind, collectionID int64, n int) error {
	return l.AdmitIn(ctx, kind, Scope{Collection: collectionID}, n)
}

// AdmitIn decides one request of kind in scope, of size n in the kind's
// unit: the force-deny switches (configuration, then the database's
// properties), the write protection's verdict, then the token buckets of
// the cluster, the database, the collection and each partition. It
// returns Milvus's error when the request is refused; a refused request
// takes no tokens.
func (l *Limiter) AdmitIn(_ context.Context, kind Kind, sc Scope, n int) error {
	if l == nil || !l.cfg.Enabled {
		return nil
	}
	err := l.admit(kind, sc, n)
	l.cfg.Requests.count(kind, err)
	return err
}

// admit is AdmitIn's decision.
func (l *Limiter) admit(kind Kind, sc Scope, n int) error {
	if err := l.denied(kind, sc); err != nil {
		return err
	}
	units := float64(n)
	if kind.dml() {
		units /= mb
	}
	p := l.state.Load()
	if p == nil {
		p = &States{}
	}
	type want struct {
		key  bucketKey
		rate float64
	}
	var wants []want
	// Every rate is the cluster's: this proxy enforces its share, the
	// rate divided by the live proxies (Milvus's QuotaCenter divides each
	// rate by its proxies before it sends them).
	share := float64(l.Proxies())
	add := func(key bucketKey, rate float64) {
		if rate >= 0 {
			wants = append(wants, want{key, rate / share})
		}
	}
	bk := kind.bucketKind()
	r := l.rates(kind)
	add(bucketKey{level: levelCluster, kind: bk}, r.Max)
	if sc.DB != "" && kind != DDLDB {
		add(bucketKey{level: levelDB, db: sc.DB, kind: bk}, r.DB)
	}
	if sc.Collection != 0 {
		add(bucketKey{level: levelCollection, id: sc.Collection, kind: bk}, l.collectionRate(kind, r, sc.CollProps, p.factor(sc.Collection)))
		for _, part := range sc.Partitions {
			if part != 0 {
				add(bucketKey{level: levelPartition, id: part, kind: bk}, r.Partition)
			}
		}
	}
	if len(wants) == 0 {
		return nil
	}
	if l.awaiting.Load() {
		return rateLimited(0) // this proxy's share is not known yet (AwaitProxies)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	bs := make([]*bucket, len(wants))
	for i, w := range wants {
		b := l.buckets[w.key]
		if b == nil {
			b = newBucket(w.rate, now)
			l.buckets[w.key] = b
		}
		b.setRate(w.rate)
		if !b.allows(now, units) {
			return rateLimited(w.rate)
		}
		bs[i] = b
	}
	for _, b := range bs {
		b.take(now, units)
	}
	return nil
}

// denied is the force-deny and write-protection verdict on a request.
func (l *Limiter) denied(kind Kind, sc Scope) error {
	c := l.cfg
	if kind.writes() || kind == Delete {
		if c.ForceDenyWriting {
			return quotaExceeded(forceDenyMsg, "config force deny writing")
		}
		if isTrue(sc.DBProps[propDenyWriting]) {
			return quotaExceeded(forceDenyMsg, "force deny writing in database properties")
		}
	}
	if kind.reads() {
		if c.ForceDenyReading {
			return quotaExceeded(forceDenyMsg, "config force deny reading")
		}
		if isTrue(sc.DBProps[propDenyReading]) {
			return quotaExceeded(forceDenyMsg, "force deny reading in database properties")
		}
	}
	if !kind.writes() {
		return nil // deletes free space: the protection never refuses them
	}
	p := l.state.Load()
	if p == nil {
		return nil
	}
	if p.MemoryAll || (sc.Collection != 0 && p.Memory[sc.Collection]) {
		return quotaExceeded(memoryQuotaMsg, "force deny writing for memory quota exceeded")
	}
	if p.DiskAll != "" {
		return quotaExceeded(diskQuotaMsg, p.DiskAll)
	}
	if sc.DB != "" && p.DiskDBs[sc.DB] {
		return quotaExceeded(diskQuotaMsg, "disk quota exceeded")
	}
	if p.DiskCollections[sc.Collection] {
		return quotaExceeded(diskQuotaMsg, "disk quota exceeded")
	}
	for _, part := range sc.Partitions {
		if p.DiskPartitions[part] {
			return quotaExceeded(diskQuotaMsg, "disk quota exceeded")
		}
	}
	return nil
}

// prune drops the buckets that have refilled completely: such a bucket is
// what a new one would be, so dropped collections and partitions, and
// idle ones, cost nothing.
func (l *Limiter) prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k, b := range l.buckets {
		if b.full(now) {
			delete(l.buckets, k)
		}
	}
}

// Forget drops a dropped collection's buckets.
func (l *Limiter) Forget(collectionID int64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.buckets {
		if k.level == levelCollection && k.id == collectionID {
			delete(l.buckets, k)
		}
	}
}

// rates returns the rates of kind (every level < 0: none).
func (l *Limiter) rates(kind Kind) Rates {
	c := l.cfg
	switch kind {
	case Insert, Upsert:
		if c.DMLEnabled {
			return c.Insert
		}
	case Delete:
		if c.DMLEnabled {
			return c.Delete
		}
	case BulkLoad:
		if c.DMLEnabled {
			return c.BulkLoad
		}
	case Search:
		if c.DQLEnabled {
			return c.Search
		}
	case Query:
		if c.DQLEnabled {
			return c.Query
		}
	case Flush:
		if c.FlushEnabled {
			return Rates{Max: c.FlushRate, DB: c.FlushRateDB, Collection: c.FlushRateCollection, Partition: -1}
		}
	case DDLCollection:
		if c.DDLEnabled {
			return Rates{Max: c.CollectionRate, DB: c.CollectionRateDB, Collection: -1, Partition: -1}
		}
	case DDLPartition:
		if c.DDLEnabled {
			return Rates{Max: c.PartitionRate, DB: c.PartitionRateDB, Collection: -1, Partition: -1}
		}
	case DDLIndex:
		if c.IndexEnabled {
			return Rates{Max: c.IndexRate, DB: c.IndexRateDB, Collection: -1, Partition: -1}
		}
	case Compaction:
		if c.CompactionEnabled {
			return Rates{Max: c.CompactionRate, DB: c.CompactionRateDB, Collection: -1, Partition: -1}
		}
	case DDLDB:
		if c.DBRateEnabled {
			return Rates{Max: c.DBRate, DB: -1, Collection: -1, Partition: -1}
		}
	}
	return Unlimited
}

// Collection properties that override the collection rates (Milvus's
// common.Collection*RateMaxKey / MinKey): MB/s, vectors/s, queries/s.
var collRateProps = map[Kind][2]string{
	Insert:   {"collection.insertRate.max.mb", "collection.insertRate.min.mb"},
	Upsert:   {"collection.insertRate.max.mb", "collection.insertRate.min.mb"},
	Delete:   {"collection.deleteRate.max.mb", "collection.deleteRate.min.mb"},
	BulkLoad: {"collection.bulkLoadRate.max.mb", "collection.bulkLoadRate.min.mb"},
	Search:   {"collection.searchRate.max.vps", "collection.searchRate.min.vps"},
	Query:    {"collection.queryRate.max.qps", "collection.queryRate.min.qps"},
}

// collectionRate is a collection's rate of kind: its property if set (as
// Milvus's getCollectionMaxLimit, whether or not the kind's limits are
// enabled), else the configured one; a DML rate scaled by the write
// protection's factor, but not below the collection's min property, else
// the configured .collection.min (Milvus's guaranteeMinRate).
func (l *Limiter) collectionRate(kind Kind, r Rates, props map[string]string, factor float64) float64 {
	keys, ok := collRateProps[kind]
	if !ok {
		return r.Collection
	}
	rate := r.Collection
	if v, ok := props[keys[0]]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			rate = f
		}
	}
	if rate < 0 || !kind.dml() || factor >= 1 {
		return rate
	}
	scaled := math.Round(rate*factor*1e6) / 1e6 // 5, not 4.999999999999995
	floor := r.CollectionMin
	if v, ok := props[keys[1]]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			floor = f
		}
	}
	if floor > scaled {
		scaled = min(floor, rate)
	}
	return scaled
}

// Database properties (Milvus's common.DatabaseForceDeny*Key,
// DatabaseDiskQuotaKey) and the collection's disk quota property.
const (
	propDenyWriting  = "database.force.deny.writing"
	propDenyReading  = "database.force.deny.reading"
	propDBDiskQuota  = "database.diskQuota.mb"
	propCollDiskQuot = "collection.diskProtection.diskQuota.mb"
)

func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
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

// quotaExceeded is merr.WrapErrServiceQuotaExceeded of
// ratelimitutil.GetQuotaErrorStringWithReason: "quota exceeded[reason=<what>: <why>]".
func quotaExceeded(what, why string) error {
	return &fieldError{base: errs.ErrServiceQuotaExceeded, field: "[reason=" + what + ": " + why + "]"}
}

// rateLimited is the rate limiter's error: "request is rejected by grpc
// RateLimiter middleware, please retry later: rate limit exceeded[rate=0.1]".
func rateLimited(rate float64) error {
	return &fieldError{base: errs.ErrServiceRateLimit, field: fmt.Sprintf("[rate=%v]", rate), reason: rateLimitMsg}
}
