package app

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/proxy"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc"
)

// PublicAPI is how the Milvus API is exposed and bounded: the bind
// address, TLS, pprof and quotaAndLimits.
type PublicAPI struct {
	// Listen is the host the API and metrics ports bind to ("": all
	// interfaces, as Milvus).
	Listen string
	// TLSMode is common.security.tlsMode (0, 1 or 2), TLS its files.
	TLSMode int
	TLS     config.TLS
	// Pprof serves /debug/pprof on the metrics port.
	Pprof bool
	// Limits are quotaAndLimits.* and friends. The zero value keeps the
	// request limits at Milvus's defaults and enforces no quota (what
	// DefaultStandalone, and so the tests, use); StandaloneFromConfig
	// gives the configured values, with quotas on as in Milvus.
	Limits config.Limits
}

// publicFromConfig takes the public API's settings from a configuration.
func publicFromConfig(c *config.Config) PublicAPI {
	return PublicAPI{Listen: c.Milvago.Listen, TLSMode: c.Common.Security.TLSMode, TLS: c.TLS, Pprof: c.Milvago.Pprof, Limits: c.Limits}
}

// serverTLS loads the certificates of tlsMode (nil for mode 0).
func (p PublicAPI) serverTLS() (*tls.Config, error) {
	return rpc.ServerTLS(p.TLSMode, p.TLS.ServerPemPath, p.TLS.ServerKeyPath, p.TLS.CAPemPath)
}

// proxyLimits are the request limits (zero fields: Milvus's defaults).
func (p PublicAPI) proxyLimits() proxy.Limits {
	l := p.Limits
	return proxy.Limits{NQ: l.NQ, TopK: l.TopK, MaxQueryResultWindow: l.MaxQueryResultWindow, MaxOutputSize: l.MaxOutputSize,
		MaxInsertSize: l.MaxInsertSize, MaxResultEntries: l.MaxResultEntries}
}

// limiter is the quota of one proxy; dataDir is the directory whose disk
// it watches ("" for none: a cluster proxy keeps no data).
func (p PublicAPI) limiter(dataDir string, logger *slog.Logger) *quota.Limiter {
	l := p.Limits
	if !l.Enabled {
		return nil
	}
	cfg := quota.Config{Enabled: true,
		DMLEnabled: l.DMLEnabled, DQLEnabled: l.DQLEnabled, DDLEnabled: l.DDLEnabled,
		InsertRate: l.InsertRate, InsertRateCollection: l.InsertRateCollection, DeleteRate: l.DeleteRate,
		SearchRate: l.SearchRate, QueryRate: l.QueryRate, CollectionRate: l.CollectionRate, PartitionRate: l.PartitionRate,
		FlushEnabled: l.FlushEnabled, FlushRate: l.FlushRate, FlushRateCollection: l.FlushRateCollection,
		ForceDenyWriting: l.ForceDenyWriting, ForceDenyReading: l.ForceDenyReading,
		MemProtection: l.MemProtection, MemoryHighWaterLevel: min(l.DataNodeMemoryHighWaterLevel, l.QueryNodeMemoryHighWaterLevel),
		DiskProtection: l.DiskProtection && dataDir != "", DiskHighWaterLevel: l.DiskHighWaterLevel,
		CollectInterval: time.Duration(l.CollectInterval * float64(time.Second)),
		Probe:           quota.HostProbe{Dir: dataDir},
	}
	if l.DiskQuotaMB > 0 {
		cfg.DiskQuotaBytes = int64(l.DiskQuotaMB * (1 << 20))
	}
	return quota.New(cfg, logger)
}

// maxRecvBytes is proxy.grpc.serverMaxRecvSize (0: rpc's default).
func (p PublicAPI) maxRecvBytes() int { return p.Limits.ServerMaxRecvSize }
