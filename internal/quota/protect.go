package quota

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Node roles whose memory the protection watches.
const (
	RoleDataNode  = "datanode"
	RoleQueryNode = "querynode"
)

// NodeMemory is one worker's memory, as its metrics report it.
type NodeMemory struct {
	Role        string // RoleDataNode or RoleQueryNode
	ID          int64
	Used, Total uint64
}

// Nodes reports the workers' memory (in a cluster, from the metrics the
// workers publish; standalone, the process's).
type Nodes interface {
	NodeMemory(ctx context.Context) ([]NodeMemory, error)
}

// StoredCollection is one collection, with its database's and its own
// properties (the disk quota properties).
type StoredCollection struct {
	ID      int64
	DB      string
	DBProps map[string]string
	Props   map[string]string
}

// Storage reports the collections and the binlog bytes the data
// coordinator knows of them.
type Storage interface {
	// Collections lists every database's collections (metadata only).
	Collections(ctx context.Context) ([]StoredCollection, error)
	// PartitionBytes is a collection's binlog bytes by partition.
	PartitionBytes(ctx context.Context, collection int64) (map[int64]int64, error)
}

// protection is one sample's verdict.
type protection struct {
	memory      bool    // a node is above its memory high water level
	factor      float64 // DML rate factor from the memory water levels, (0, 1]
	disk        string  // why all writes are refused for disk, "": they are not
	deniedDBs   map[string]bool
	deniedColls map[int64]bool
	deniedParts map[int64]bool
}

// sampleTimeout bounds one sample's calls to the coordinators.
const sampleTimeout = 10 * time.Second

// Run samples memory and disk, and drops the buckets that refilled, every
// CollectInterval until ctx ends.
func (l *Limiter) Run(ctx context.Context) {
	if l == nil || !l.cfg.Enabled {
		return
	}
	every := l.cfg.CollectInterval
	if every <= 0 {
		every = 3 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		l.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Limiter) watches() bool {
	c := l.cfg
	return (c.MemProtection && c.Nodes != nil) || (c.DiskProtection && (c.Probe != nil || c.Storage != nil))
}

// Sample measures once and sets what the protection refuses.
func (l *Limiter) Sample() {
	if l == nil || !l.cfg.Enabled || !l.watches() {
		return
	}
	l.sample(context.Background())
}

func (l *Limiter) sample(ctx context.Context) {
	l.prune()
	if !l.watches() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	p := &protection{factor: 1}
	l.checkMemory(ctx, p)
	l.checkDisk(ctx, p)
	prev := l.state.Load()
	switch {
	case p.refusesAll() && (prev == nil || !prev.refusesAll()):
		l.logger.Warn("refusing inserts and upserts", "memory", p.memory, "disk", p.disk)
	case !p.refusesAll() && prev != nil && prev.refusesAll():
		l.logger.Warn("writes admitted again")
	}
	if p.factor < 1 && (prev == nil || prev.factor != p.factor) {
		l.logger.Warn("memory above the low water level: DML rates scaled down", "factor", p.factor)
	}
	l.state.Store(p)
}

func (p *protection) refusesAll() bool { return p.memory || p.disk != "" }

// checkMemory is Milvus's getMemoryFactor: a node at or above its high
// water level refuses writes; between the low and the high level, DML
// rates are scaled by (high - level) / (high - low), the lowest factor of
// all nodes.
func (l *Limiter) checkMemory(ctx context.Context, p *protection) {
	c := l.cfg
	if !c.MemProtection || c.Nodes == nil {
		return
	}
	nodes, err := c.Nodes.NodeMemory(ctx)
	if err != nil {
		l.logger.Warn("cannot read the nodes' memory", "err", err)
		return
	}
	for _, n := range nodes {
		if n.Total == 0 {
			continue
		}
		low, high := c.DataNodeMemoryLowWaterLevel, c.DataNodeMemoryHighWaterLevel
		if n.Role == RoleQueryNode {
			low, high = c.QueryNodeMemoryLowWaterLevel, c.QueryNodeMemoryHighWaterLevel
		}
		if high <= 0 {
			continue
		}
		level := float64(n.Used) / float64(n.Total)
		if level >= high {
			if !p.memory {
				l.logger.Warn("node memory at the high water level", "role", n.Role, "node", n.ID,
					"usedMB", n.Used/mb, "totalMB", n.Total/mb, "level", level, "high", high)
			}
			p.memory = true
			continue
		}
		if level <= low || low >= high {
			continue
		}
		p.factor = min(p.factor, (high-level)/(high-low))
	}
}

// checkDisk is Milvus's checkDiskQuota (the binlogs of the cluster, each
// database, collection and partition against their quotas) plus the data
// directory's disk water level.
func (l *Limiter) checkDisk(ctx context.Context, p *protection) {
	c := l.cfg
	if !c.DiskProtection {
		return
	}
	if c.Probe != nil && c.DiskHighWaterLevel > 0 {
		used, total, err := c.Probe.Disk()
		if err != nil {
			l.logger.Debug("cannot measure the data disk", "err", err)
		} else if total > 0 {
			if frac := float64(used) / float64(total); frac > c.DiskHighWaterLevel {
				p.disk = fmt.Sprintf("the data directory's disk is %.1f%% full (%d of %d MB), above the high water level %.0f%%",
					frac*100, used/mb, total/mb, c.DiskHighWaterLevel*100)
				return
			}
		}
	}
	if c.Storage == nil {
		if c.Probe != nil && c.DiskQuotaBytes > 0 {
			n, err := c.Probe.DataBytes()
			if err != nil {
				l.logger.Debug("cannot measure the data directory", "err", err)
			} else if n >= c.DiskQuotaBytes {
				p.disk = "cluster disk quota exceeded"
			}
		}
		return
	}
	colls, err := c.Storage.Collections(ctx)
	if err != nil {
		l.logger.Warn("cannot list the collections for the disk quotas", "err", err)
		return
	}
	// Sizes are read only where a quota can bind: with no quota
	// configured nor set as a property, a sample costs one listing.
	all := c.DiskQuotaBytes > 0 || c.DiskQuotaPerDB > 0 || c.DiskQuotaPerCollection > 0 || c.DiskQuotaPerPartition > 0
	var total int64
	dbBytes := map[string]int64{}
	dbProps := map[string]map[string]string{}
	for _, coll := range colls {
		dbProps[coll.DB] = coll.DBProps
		_, dbQuota := coll.DBProps[propDBDiskQuota]
		_, collQuota := coll.Props[propCollDiskQuot]
		if !all && !dbQuota && !collQuota {
			continue
		}
		parts, err := c.Storage.PartitionBytes(ctx, coll.ID)
		if err != nil {
			l.logger.Warn("cannot read a collection's stored size", "collection", coll.ID, "err", err)
			continue
		}
		var n int64
		for part, b := range parts {
			n += b
			if c.DiskQuotaPerPartition > 0 && b >= c.DiskQuotaPerPartition {
				p.deny(&p.deniedParts, part)
			}
		}
		total += n
		dbBytes[coll.DB] += n
		if q := quotaOf(coll.Props, propCollDiskQuot, c.DiskQuotaPerCollection); q > 0 && n >= q {
			p.deny(&p.deniedColls, coll.ID)
		}
	}
	if c.DiskQuotaBytes > 0 && total >= c.DiskQuotaBytes {
		p.disk = "cluster disk quota exceeded"
		return
	}
	for _, db := range slices.Sorted(maps.Keys(dbBytes)) {
		if q := quotaOf(dbProps[db], propDBDiskQuota, c.DiskQuotaPerDB); q > 0 && dbBytes[db] >= q {
			if p.deniedDBs == nil {
				p.deniedDBs = map[string]bool{}
			}
			p.deniedDBs[db] = true
		}
	}
	if len(p.deniedDBs)+len(p.deniedColls)+len(p.deniedParts) > 0 {
		l.logger.Warn("disk quota exceeded: refusing writes", "databases", len(p.deniedDBs), "collections", len(p.deniedColls), "partitions", len(p.deniedParts))
	}
}

func (p *protection) deny(m *map[int64]bool, id int64) {
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
