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

type e2eCluster struct{}

func (*e2eCluster) queryNodeURLs() []string { return nil }

func (*e2eCluster) scanLogs(t *testing.T, _ func(string) bool) lineSource {
	t.Fatal("cluster mode runs on Linux only")
	return nil
}

func (*e2eCluster) addQueryNode(t *testing.T) { t.Fatal("cluster mode runs on Linux only") }

func (*e2eCluster) restartProxies(t *testing.T, _ []string) {
	t.Fatal("cluster mode runs on Linux only")
}
