package app

import (
	"time"

	"github.com/milvago/milvago/internal/config"
)

// StandaloneFromConfig takes what `milvago standalone` uses from a loaded
// configuration: milvago.dataDir, proxy.port, common.MetricsPort,
// milvago.syncAlways, milvago.etcd.snapshotCount, common.clusterID, natsmq.server.maxPayload and
// common.security.authorizationEnabled / defaultRootPassword, and the
// keys its components share with a cluster's roles. Standalone embeds its
// meta store and log and keeps objects under the data directory, so the
// cluster keys (etcd.*, minio.*, role ports) do not apply to it.
func StandaloneFromConfig(c *config.Config) StandaloneConfig {
	s := DefaultStandalone()
	s.DataDir = c.Milvago.DataDir
	s.Port = c.Proxy.Port
	s.MetricsPort = c.Common.MetricsPort
	s.SyncAlways = c.Milvago.SyncAlways
	s.EtcdSnapshotCount = uint64(c.Milvago.EtcdSnapshotCount)
	s.ClusterID = c.Common.ClusterID
	s.LogMaxPayload = c.NatsMQ.Server.MaxPayload
	s.Public = publicFromConfig(c)
	s.Auth = AuthFromConfig(c)
	s.Data = dataFromConfig(c)
	s.Root = rootFromConfig(c, s.Root)
	s.Retention = retentionFromConfig(c)
	interim := interimFromConfig(c)
	s.Interim = &interim
	prune := pruneFromConfig(c)
	s.Prune = &prune
	s.LoadConcurrency = c.Tuning.MilvagoQueryNodeLoadConcurrency
	s.IdleTimerSlack = time.Duration(c.Tuning.MilvagoIdleTimerSlack) * time.Millisecond
	sync := syncFromConfig(c)
	s.Sync = &sync
	return s
}
