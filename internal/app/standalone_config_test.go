package app

import (
	"testing"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/logbroker"
)

// TestStandaloneFromConfig: the defaults give exactly DefaultStandalone
// (standalone runs as before), and the keys reach their fields.
func TestStandaloneFromConfig(t *testing.T) {
	got := StandaloneFromConfig(config.Default(config.Standalone))
	want := DefaultStandalone()
	want.LogMaxPayload = logbroker.DefaultMaxPayload // natsmq.server.maxPayload's default
	if got.DataDir != want.DataDir || got.Port != want.Port || got.MetricsPort != want.MetricsPort || got.SyncAlways != want.SyncAlways ||
		got.LogMaxPayload != want.LogMaxPayload || got.Data != want.Data || got.Root != want.Root {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if got.EtcdSnapshotCount != 10000 { // etcd's own default, which 0 also means
		t.Errorf("milvago.etcd.snapshotCount's default: %d", got.EtcdSnapshotCount)
	}
	c := config.Default(config.Standalone)
	c.Milvago.DataDir, c.Proxy.Port, c.Common.MetricsPort, c.Milvago.SyncAlways, c.NatsMQ.Server.MaxPayload = "/d", 1, 2, true, 16<<20
	c.Milvago.EtcdSnapshotCount = 100
	got = StandaloneFromConfig(c)
	if got.DataDir != "/d" || got.Port != 1 || got.MetricsPort != 2 || !got.SyncAlways || got.LogMaxPayload != 16<<20 || got.EtcdSnapshotCount != 100 {
		t.Errorf("from config: %+v", got)
	}
}
