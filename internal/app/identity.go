package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/identity"
)

// The stores' descriptions in identity refusals and `milvago recover`.
func standaloneStores(dataDir string) (meta, log, objects string) {
	return "the meta store (embedded etcd in " + filepath.Join(dataDir, "etcd") + ")",
		"the log (embedded NATS JetStream in " + filepath.Join(dataDir, "log") + ")",
		"the object store (local directory " + filepath.Join(dataDir, "objects") + ")"
}

func clusterStores(c *config.Config) (meta, log, objects string) {
	meta = fmt.Sprintf("the meta store (etcd %s, rootPath %q)", strings.Join(c.Etcd.Endpoints, ","), c.Etcd.RootPath)
	switch c.MQ.Type {
	case config.MQKafka:
		log = fmt.Sprintf("the log (Kafka %s)", strings.Join(c.Kafka.BrokerList, ","))
	default:
		log = fmt.Sprintf("the log (NATS JetStream %s, stream prefix %q)", c.Milvago.NatsMQ.URL, c.Milvago.NatsMQ.StreamPrefix)
	}
	objects = fmt.Sprintf("the object store (S3 %s, bucket %q, rootPath %q)", c.Minio.Endpoint(), c.Minio.BucketName, c.Minio.RootPath)
	return meta, log, objects
}

// recoverHint names the `milvago recover` command for a store; target is
// how the deployment is named on the command line (--data-dir DIR or
// --config FILE).
func recoverHint(target string) func(store string) string {
	return func(store string) string {
		return fmt.Sprintf("inspect with `milvago recover %s status`, then `milvago recover %s %s --yes` (what it rebuilds and what is lost: milvago recover --help, docs/recovery.md)",
			target, target, store)
	}
}

// checkIdentity checks (and on first start stamps) the cluster identity of
// the stores a process opened, refusing to start on a mismatch.
func checkIdentity(ctx context.Context, st identity.Stores, logger *slog.Logger) error {
	id, err := identity.Check(ctx, st, logger)
	if err != nil {
		logger.Error("refusing to start", "err", err)
		return err
	}
	logger.Info("cluster identity checked", "cluster_id", id.ClusterID)
	return nil
}
