package quota

import (
	"context"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/sysinfo"
)

// Node roles whose memory the protection watches.
const (
	RoleDataNode  = "datanode"
	RoleQueryNode = "querynode"
	// RoleStreamingNode is watched with the query node levels; it holds
	// the growing data of every channel it serves.
	RoleStreamingNode = "streamingnode"
	// RoleProxy is sampled for the quota metrics only: a proxy holds no
	// data, and no water level applies to it.
	RoleProxy = "proxy"
)

// NodeMemory is one worker's memory, as its metrics report it.
type NodeMemory struct {
	Role        string // RoleDataNode, RoleQueryNode or RoleStreamingNode
	ID          int64
	Used, Total uint64
	// Growing is the bytes of the node's growing segments (query and
	// streaming nodes; 0: unknown).
	Growing uint64
	// Hardware is the node's hardware metrics as it reports them (the
	// quota metrics' Hms); Collections the collections it reports holding
	// (a query node's growing data; nil: not reported).
	Hardware    sysinfo.HardwareMetrics
	Collections []int64
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
	// BinlogSizes is every collection's binlog bytes by partition, in one
	// call (Milvus's DataCoordQuotaMetrics); a collection it does not
	// name has none.
	BinlogSizes(ctx context.Context) (*contract.DataCoordQuotaMetrics, error)
}

// StatesSource is where a proxy's limiter takes the write protection's
// verdict: the quota center in process (standalone) or its RPC client
// (a cluster proxy asks the root coordinator).
type StatesSource interface {
	QuotaStates(ctx context.Context) (*States, error)
}

// Run fetches the quota center's verdict, and drops the buckets that
// refilled, every CollectInterval until ctx ends.
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
		l.prune()
		l.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample fetches the verdict once (before the server accepts requests).
func (l *Limiter) Sample(ctx context.Context) {
	if l == nil || !l.cfg.Enabled {
		return
	}
	l.refresh(ctx)
}

// refresh takes the center's verdict and the number of live proxies the
// rates are divided among (unless SetProxies follows them). When the center cannot be reached the last
// verdict and share stay, as Milvus's proxies keep the last rates the
// QuotaCenter sent them.
func (l *Limiter) refresh(ctx context.Context) {
	if l.cfg.Source == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	s, err := l.cfg.Source.QuotaStates(ctx)
	if err != nil {
		if !l.stale.Load() {
			l.logger.Warn("cannot fetch the quota center's states; keeping the last ones", "err", err)
		}
		l.stale.Store(true)
		return
	}
	if l.stale.Swap(false) {
		l.logger.Info("quota center reached again")
	}
	if s == nil {
		s = &States{}
	}
	if n := s.Proxies; n > 0 && !l.followed.Load() {
		if old := l.proxies.Swap(int32(n)); old != int32(n) {
			l.logger.Info("the live proxies share the rate limits", "proxies", n, "before", old)
		}
	}
	l.state.Store(s)
}
