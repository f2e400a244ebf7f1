package quota

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/contract"
)

// CenterConfig is the write protection part of quotaAndLimits, which
// Milvus computes in its QuotaCenter (rootcoord): the workers' memory
// water levels, the growing segments' size, and the disk quotas.
type CenterConfig struct {
	// MemProtection refuses writes into the collections held by a data
	// node or query node above its high water level, and scales their DML
	// rates down between the low and the high level.
	MemProtection                 bool
	DataNodeMemoryLowWaterLevel   float64
	DataNodeMemoryHighWaterLevel  float64
	QueryNodeMemoryLowWaterLevel  float64
	QueryNodeMemoryHighWaterLevel float64
	// GrowingProtection is limitWriting.growingSegmentsSizeProtection:
	// a query node whose growing segments take more than the low water
	// level of its memory scales the DML rates of the collections it holds
	// by (high - level) / (high - low), never below GrowingMinRateRatio;
	// a factor of 0 or less (GrowingMinRateRatio 0, at or past the high
	// level) refuses their writes for memory, as Milvus's QuotaCenter.
	GrowingProtection                           bool
	GrowingMinRateRatio                         float64
	GrowingLowWaterLevel, GrowingHighWaterLevel float64

	DiskProtection                         bool
	DiskHighWaterLevel                     float64 // fraction of the data disk in use (Probe)
	DiskQuotaBytes                         int64   // all binlogs (Storage, else Probe's directory); <= 0: none
	DiskQuotaPerDB, DiskQuotaPerCollection int64   // bytes; <= 0: none
	DiskQuotaPerPartition                  int64   // bytes; <= 0: none
	CollectInterval                        time.Duration

	Nodes     Nodes     // nil: no memory water levels
	Placement Placement // nil: every node holds every collection (standalone)
	Storage   Storage   // nil: no disk quotas
	Probe     Probe     // nil: no disk water level
	// Proxies counts the live proxies the rates are divided among
	// (nil: one, standalone).
	Proxies ProxyCounter
}

// ProxyCounter counts the live proxies (in a cluster, their sessions in
// etcd).
type ProxyCounter interface {
	LiveProxies(ctx context.Context) (int, error)
}

// Placement tells which collections each worker holds, so that a node over
// its water level throttles only those (Milvus's metric.Effect.CollectionIDs).
type Placement interface {
	// Placement returns, by node ID, the collections whose shards a query
	// node serves and those whose channels a data node consumes.
	Placement(ctx context.Context) (query, data map[int64][]int64, err error)
}

// States is the quota center's verdict, which every proxy applies: what
// the write protection refuses and how far it scales the DML rates. The
// zero value admits everything.
type States struct {
	// MemoryAll refuses every insert and upsert: a node above its memory
	// high water level holds every collection (standalone).
	MemoryAll bool
	// Memory refuses the inserts and upserts of these collections: they
	// live on a node above its memory high water level.
	Memory map[int64]bool
	// Factor scales every collection's DML rates, Factors one
	// collection's; 0 or 1 is no scaling.
	Factor  float64
	Factors map[int64]float64
	// DiskAll is why every insert and upsert is refused for disk ("": it
	// is not); DiskDBs, DiskCollections and DiskPartitions are over their
	// disk quotas.
	DiskAll         string
	DiskDBs         map[string]bool
	DiskCollections map[int64]bool
	DiskPartitions  map[int64]bool
	// Proxies is how many live proxies share every rate limit: each
	// enforces 1/Proxies of every configured rate, so that the limits
	// hold for the cluster. 0: unknown (standalone, or the center could
	// never read them); a proxy then keeps the share it had.
	Proxies int
}

// refusesAll reports whether every write is refused.
func (s *States) refusesAll() bool { return s.MemoryAll || s.DiskAll != "" }

// factor is the DML rate factor of a collection, in (0, 1].
func (s *States) factor(coll int64) float64 {
	f := 1.0
	if s.Factor > 0 && s.Factor < 1 {
		f = s.Factor
	}
	if g, ok := s.Factors[coll]; ok && g > 0 && g < f {
		f = g
	}
	return f
}

// Center samples the workers' memory and the stored sizes, once for the
// cluster, and keeps the verdict the proxies fetch (Milvus's QuotaCenter).
// Standalone runs one in process; a cluster runs it with the root
// coordinator and serves it by RPC.
type Center struct {
	cfg    CenterConfig
	logger *slog.Logger

	mu          sync.Mutex
	states      *States
	metrics     *contract.QuotaCenterMetrics
	proxies     int  // the live proxies last counted (0: never)
	countFailed bool // the last count failed (logged once)
}

// NewCenter returns a center for cfg.
func NewCenter(cfg CenterConfig, logger *slog.Logger) *Center {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Center{cfg: cfg, logger: logger.With("component", "quotacenter"), states: &States{},
		metrics: contract.NewQuotaCenterMetrics()}
}

// QuotaStates is the last sample's verdict, with the live proxies counted
// now: a proxy that has just registered asks before it serves, and gets
// its share counting itself; the others learn of it at their next fetch.
// When the proxies cannot be counted the last count stands.
func (c *Center) QuotaStates(ctx context.Context) (*States, error) {
	n := 0
	var err error
	if c.cfg.Proxies != nil {
		if n, err = c.cfg.Proxies.LiveProxies(ctx); err != nil {
			n = 0
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if failed := err != nil; failed != c.countFailed {
		c.countFailed = failed
		if failed {
			c.logger.Warn("cannot count the live proxies; keeping the last count", "proxies", c.proxies, "err", err)
		} else {
			c.logger.Info("counting the live proxies again", "proxies", n)
		}
	}
	if n > 0 && n != c.proxies {
		c.logger.Info("rate limits divided among the live proxies", "proxies", n, "before", c.proxies)
		c.proxies = n
	}
	if c.proxies == 0 {
		return c.states, nil
	}
	s := *c.states // the maps are never written after a sample
	s.Proxies = c.proxies
	return &s, nil
}

// QuotaMetrics is the last sample: each node's hardware metrics and the
// collections it holds, the binlog bytes, and the verdict (Milvus's
// QuotaCenter.getQuotaMetrics). Before the first sample, or with nothing
// to sample (quotaAndLimits off), it holds no node.
func (c *Center) QuotaMetrics(context.Context) (*contract.QuotaCenterMetrics, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metrics, nil
}

// sampleTimeout bounds one sample's calls to the coordinators and nodes.
const sampleTimeout = 10 * time.Second

func (c *Center) interval() time.Duration {
	if c.cfg.CollectInterval > 0 {
		return c.cfg.CollectInterval
	}
	return 3 * time.Second
}

// Run samples at once and every CollectInterval until ctx ends.
func (c *Center) Run(ctx context.Context) {
	if c == nil || !c.watches() {
		return
	}
	t := time.NewTicker(c.interval())
	defer t.Stop()
	for {
		c.Sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watches reports whether there is anything to sample: the nodes (for
// the quota metrics even with no water level on) or the disk.
func (c *Center) watches() bool {
	g := c.cfg
	return g.Nodes != nil || g.Storage != nil || (g.DiskProtection && g.Probe != nil)
}

// Sample measures once, sets the verdict and keeps the sample.
func (c *Center) Sample(ctx context.Context) {
	if c == nil || !c.watches() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	s := &States{}
	m := contract.NewQuotaCenterMetrics()
	nodes, query, data := c.checkMemory(ctx, s)
	colls := c.checkDisk(ctx, s, m)
	c.nodeMetrics(m, nodes, query, data, colls)
	m.QuotaStates = stateMetrics(s)
	c.mu.Lock()
	prev := c.states
	c.states = s
	c.metrics = m
	c.mu.Unlock()
	switch {
	case s.refusesAll() && !prev.refusesAll():
		c.logger.Warn("refusing inserts and upserts", "memory", s.MemoryAll, "disk", s.DiskAll)
	case !s.refusesAll() && prev.refusesAll():
		c.logger.Warn("writes admitted again")
	}
	if len(s.Memory) > 0 && len(prev.Memory) == 0 {
		c.logger.Warn("refusing the writes of the collections on nodes above the memory high water level", "collections", slices.Sorted(maps.Keys(s.Memory)))
	}
	if (s.Factor > 0 && s.Factor < 1 && s.Factor != prev.Factor) || (len(s.Factors) > 0 && !maps.Equal(s.Factors, prev.Factors)) {
		c.logger.Warn("memory or growing segments above the low water level: DML rates scaled down", "factor", s.Factor, "collections", s.Factors)
	}
}

// checkMemory is Milvus's getMemoryFactor and getGrowingSegmentsSizeFactor:
// a node at or above its high memory water level refuses the writes of
// the collections it holds; between the low and the high level their DML
// rates are scaled by (high - level) / (high - low), the lowest factor of
// the nodes holding them.
//
// It returns the nodes it read, and where the collections live if it had
// to read that (nil: not read).
func (c *Center) checkMemory(ctx context.Context, s *States) (nodes []NodeMemory, query, data map[int64][]int64) {
	g := c.cfg
	if g.Nodes == nil {
		return nil, nil, nil
	}
	nodes, err := g.Nodes.NodeMemory(ctx)
	if err != nil {
		c.logger.Warn("cannot read the nodes' memory", "err", err)
		return nil, nil, nil
	}
	if !g.MemProtection && !g.GrowingProtection {
		return nodes, nil, nil
	}
	// Where collections live is read only when a node is above a level:
	// a calm sample costs the nodes' metrics alone.
	if g.Placement != nil && slices.ContainsFunc(nodes, c.aboveLow) {
		if query, data, err = g.Placement.Placement(ctx); err != nil {
			// Not knowing where collections live, a node over its level
			// throttles them all, as in standalone.
			c.logger.Warn("cannot read where the collections live", "err", err)
			query, data = nil, nil
		}
	}
	// held reports the collections of a node; all: every collection.
	held := func(n NodeMemory) (colls []int64, all bool) {
		if g.Placement == nil || query == nil || n.Role == RoleStreamingNode {
			return nil, true // standalone, or a node that holds every channel's growing data
		}
		if n.Role == RoleDataNode {
			return data[n.ID], false
		}
		return query[n.ID], false
	}
	scale := func(f float64, colls []int64, all bool) {
		if all {
			if s.Factor == 0 || f < s.Factor {
				s.Factor = f
			}
			return
		}
		for _, coll := range colls {
			if cur, ok := s.Factors[coll]; !ok || f < cur {
				if s.Factors == nil {
					s.Factors = map[int64]float64{}
				}
				s.Factors[coll] = f
			}
		}
	}
	// deny refuses the writes of colls (all: every collection) for memory.
	deny := func(colls []int64, all bool) {
		if all {
			s.MemoryAll = true
		}
		for _, coll := range colls {
			if s.Memory == nil {
				s.Memory = map[int64]bool{}
			}
			s.Memory[coll] = true
		}
	}
	for _, n := range nodes {
		if n.Total == 0 || n.Role == RoleProxy {
			continue
		}
		colls, all := held(n)
		if g.GrowingProtection && n.Role != RoleDataNode && g.GrowingHighWaterLevel > g.GrowingLowWaterLevel {
			if cur := float64(n.Growing) / float64(n.Total); cur > g.GrowingLowWaterLevel {
				f := max((g.GrowingHighWaterLevel-cur)/(g.GrowingHighWaterLevel-g.GrowingLowWaterLevel), g.GrowingMinRateRatio)
				c.logger.Debug("growing segments above the low water level", "role", n.Role, "node", n.ID, "growingMB", n.Growing/mb, "factor", f)
				if f <= 0 {
					// At or past the high level with no minimum ratio:
					// Milvus puts the collections among its
					// memoryCollections and denies their writing for
					// memory quota exceeded.
					c.logger.Warn("growing segments at the high water level", "role", n.Role, "node", n.ID,
						"growingMB", n.Growing/mb, "totalMB", n.Total/mb, "level", cur, "high", g.GrowingHighWaterLevel, "collections", colls, "all", all)
					deny(colls, all)
				} else {
					scale(f, colls, all)
				}
			}
		}
		if !g.MemProtection {
			continue
		}
		low, high := c.levels(n)
		if high <= 0 {
			continue
		}
		level := float64(n.Used) / float64(n.Total)
		if level >= high {
			c.logger.Warn("node memory at the high water level", "role", n.Role, "node", n.ID,
				"usedMB", n.Used/mb, "totalMB", n.Total/mb, "level", level, "high", high, "collections", colls, "all", all)
			deny(colls, all)
			continue
		}
		if level <= low || low >= high {
			continue
		}
		scale((high-level)/(high-low), colls, all)
	}
	return nodes, query, data
}

// levels are a node's memory water levels.
func (c *Center) levels(n NodeMemory) (low, high float64) {
	if n.Role == RoleDataNode {
		return c.cfg.DataNodeMemoryLowWaterLevel, c.cfg.DataNodeMemoryHighWaterLevel
	}
	return c.cfg.QueryNodeMemoryLowWaterLevel, c.cfg.QueryNodeMemoryHighWaterLevel
}

// aboveLow reports whether a node is above a low water level, memory or
// growing segments: then the collections it holds are throttled.
func (c *Center) aboveLow(n NodeMemory) bool {
	if n.Total == 0 || n.Role == RoleProxy {
		return false
	}
	g := c.cfg
	if g.MemProtection {
		if low, high := c.levels(n); high > 0 && float64(n.Used)/float64(n.Total) > min(low, high) {
			return true
		}
	}
	return g.GrowingProtection && n.Role != RoleDataNode && float64(n.Growing)/float64(n.Total) > g.GrowingLowWaterLevel
}

// checkDisk is Milvus's checkDiskQuota (the binlogs of the cluster, each
// database, collection and partition against their quotas) plus the data
// directory's disk water level.
//
// It returns the collections it listed (nil: no storage, or the listing
// failed).
func (c *Center) checkDisk(ctx context.Context, s *States, m *contract.QuotaCenterMetrics) (colls []StoredCollection) {
	g := c.cfg
	colls, sizes := c.measureBinlogs(ctx, m)
	if !g.DiskProtection {
		return colls
	}
	if g.Probe != nil && g.DiskHighWaterLevel > 0 {
		used, total, err := g.Probe.Disk()
		if err != nil {
			c.logger.Debug("cannot measure the data disk", "err", err)
		} else if total > 0 {
			if frac := float64(used) / float64(total); frac > g.DiskHighWaterLevel {
				s.DiskAll = fmt.Sprintf("the data directory's disk is %.1f%% full as df counts it (%d MB used, %d MB available, root's reserved blocks not counted), above the high water level %.0f%%",
					frac*100, used/mb, (total-used)/mb, g.DiskHighWaterLevel*100)
				return colls
			}
		}
	}
	if g.Storage == nil {
		if g.Probe != nil && g.DiskQuotaBytes > 0 {
			n, err := g.Probe.DataBytes()
			if err != nil {
				c.logger.Debug("cannot measure the data directory", "err", err)
			} else if n >= g.DiskQuotaBytes {
				s.DiskAll = "cluster disk quota exceeded"
			}
		}
		return colls
	}
	if sizes == nil {
		return colls // the collections could not be listed
	}
	var total int64
	dbBytes := map[string]int64{}
	dbProps := map[string]map[string]string{}
	for _, coll := range colls {
		dbProps[coll.DB] = coll.DBProps
		parts, ok := sizes.PartitionsBinlogSize[coll.ID]
		if !ok {
			continue // not measured
		}
		n := sizes.CollectionBinlogSize[coll.ID]
		for part, b := range parts {
			if g.DiskQuotaPerPartition > 0 && b >= g.DiskQuotaPerPartition {
				setTrue(&s.DiskPartitions, part)
			}
		}
		total += n
		dbBytes[coll.DB] += n
		if q := quotaOf(coll.Props, propCollDiskQuot, g.DiskQuotaPerCollection); q > 0 && n >= q {
			setTrue(&s.DiskCollections, coll.ID)
		}
	}
	if g.DiskQuotaBytes > 0 && total >= g.DiskQuotaBytes {
		s.DiskAll = "cluster disk quota exceeded"
		return colls
	}
	for _, db := range slices.Sorted(maps.Keys(dbBytes)) {
		if q := quotaOf(dbProps[db], propDBDiskQuota, g.DiskQuotaPerDB); q > 0 && dbBytes[db] >= q {
			if s.DiskDBs == nil {
				s.DiskDBs = map[string]bool{}
			}
			s.DiskDBs[db] = true
		}
	}
	if len(s.DiskDBs)+len(s.DiskCollections)+len(s.DiskPartitions) > 0 {
		c.logger.Warn("disk quota exceeded: refusing writes", "databases", len(s.DiskDBs), "collections", len(s.DiskCollections), "partitions", len(s.DiskPartitions))
	}
	return colls
}

// measureBinlogs lists the collections and reads the binlog bytes of
// each by partition in one call, as Milvus's quota center reads its data
// coordinator's quota metrics (every collection, whether a quota binds it
// or not: the sample is also what GetQuotaMetrics reports); it sets
// m.DataCoordMetrics. sizes is nil when there is no storage or the
// listing failed.
func (c *Center) measureBinlogs(ctx context.Context, m *contract.QuotaCenterMetrics) (colls []StoredCollection, sizes *contract.DataCoordQuotaMetrics) {
	if c.cfg.Storage == nil {
		return nil, nil
	}
	colls, err := c.cfg.Storage.Collections(ctx)
	if err != nil {
		c.logger.Warn("cannot list the collections for the disk quotas", "err", err)
		return nil, nil
	}
	all, err := c.cfg.Storage.BinlogSizes(ctx)
	if err != nil {
		c.logger.Warn("cannot read the stored sizes for the disk quotas", "err", err)
		return colls, nil
	}
	// The listed collections only (a collection dropped since the listing
	// is not reported), each measured: one the data coordinator does not
	// name has no binlogs.
	sizes = &contract.DataCoordQuotaMetrics{CollectionBinlogSize: make(map[int64]int64, len(colls)),
		PartitionsBinlogSize: make(map[int64]map[int64]int64, len(colls)), CollectionL0RowCount: map[int64]int64{}}
	for _, coll := range colls {
		parts := all.PartitionsBinlogSize[coll.ID]
		if parts == nil {
			parts = map[int64]int64{}
		}
		n := all.CollectionBinlogSize[coll.ID]
		sizes.PartitionsBinlogSize[coll.ID] = parts
		sizes.CollectionBinlogSize[coll.ID] = n
		sizes.TotalBinlogSize += n
	}
	m.DataCoordMetrics = sizes
	return colls, sizes
}

func setTrue(m *map[int64]bool, id int64) {
	if *m == nil {
		*m = map[int64]bool{}
	}
	(*m)[id] = true
}

// quotaOf is a property in MB if set and a number, else the configured
// bytes.
func quotaOf(props map[string]string, key string, configured int64) int64 {
	if v, ok := props[key]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return int64(f * mb)
		}
	}
	return configured
}
