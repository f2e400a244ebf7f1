package app

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/querycoord"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/sysinfo"
)

// startQuotaCenter runs the cluster's quota center next to the root
// coordinator, as Milvus's QuotaCenter: it alone samples the workers'
// memory (their component infos), where each collection lives and the
// stored binlogs, and serves its verdict to the proxies
// (proto/milvago/quota.proto). The other coordinators are used in process
// when hosted here (mixcoord), else through their clients.
func (n *roleNode) startQuotaCenter(ctx context.Context, g *errgroup.Group, root *rootcoord.Server, data *datacoord.Server,
	qcoord *querycoord.Server, chans *datacoord.Channels) {
	var sizes quotaData = n.dataClient(ctx)
	if data != nil {
		sizes = data
	}
	var replicas quotaReplicas = coordrpc.NewReplicasClient(n.conn(ctx, "querycoord"))
	if qcoord != nil {
		replicas = qcoord
	}
	var channels quotaChannels = coordrpc.NewDataChannelsClient(n.conn(ctx, "datacoord"))
	if chans != nil {
		channels = localChannels{chans}
	}
	// The proxies are sampled too, for the quota metrics.
	si := &clusterSystemInfo{meta: n.meta, logger: n.logger, conns: map[string]*grpc.ClientConn{},
		roles: append(slices.Clone(systemRoles), session.RoleProxy), self: func() sysinfo.ComponentInfos {
			return localInfos(n.role, n.serverID.Load(), n.addr, n.cfg.Minio.BucketName, n.cfg.LocalStorage.Path, sysinfo.ClusterDeployMode)[0]
		}}
	center := publicFromConfig(n.cfg).quotaCenter("", nodeMemory{si}, placement{root: root, replicas: replicas, channels: channels},
		storedSizes{root, sizes}, liveProxies{n.meta}, n.logger)
	if center == nil {
		// quotaAndLimits off here: proxies configured otherwise still get
		// an answer, one that refuses nothing and divides their rates.
		center = quota.NewCenter(quota.CenterConfig{Proxies: liveProxies{n.meta}}, n.logger)
	}
	coordrpc.RegisterQuotaCenter(n.grpc, center)
	g.Go(func() error {
		defer si.close()
		center.Run(ctx)
		return nil
	})
}

// liveProxies counts the proxies' sessions in etcd: the quota center
// divides every rate limit among them (Milvus's QuotaCenter divides by
// its proxy clients, which follow the same sessions).
type liveProxies struct{ store kv.Store }

func (p liveProxies) LiveProxies(ctx context.Context) (int, error) {
	ss, _, err := session.List(ctx, p.store, session.RoleProxy)
	if err != nil {
		return 0, fmt.Errorf("app: live proxies: %w", err)
	}
	return len(ss), nil
}

// rootFromConfig is the root coordinator's configuration: base with the
// collection limits of quotaAndLimits.limits.
func rootFromConfig(c *config.Config, base rootcoord.Config) rootcoord.Config {
	if n := c.Limits.MaxCollectionNum; n > 0 {
		base.MaxCollections = n
	}
	if n := c.Limits.MaxCollectionNumPerDB; n > 0 {
		base.MaxCollectionsPerDB = n
	}
	return base
}

// localChannels is the data coordinator's channel assignment in process.
type localChannels struct{ c *datacoord.Channels }

func (l localChannels) Assignments(context.Context) (map[string]int64, error) {
	return l.c.Assignments(), nil
}
