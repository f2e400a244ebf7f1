//go:build !linux

package e2e

import (
	"testing"

	"github.com/milvago/milvago/internal/app"
)

func clusterMode() bool { return false }

func startOnCluster(t *testing.T, _ string, _ func(*app.StandaloneConfig)) *server {
	t.Skip("cluster mode starts its processes with Linux-only attributes")
	return nil
}

func stopClusters() {}
