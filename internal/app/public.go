package app

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/embedding"
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
	// Models are the model services of text_embedding functions and
	// model rerankers (the zero value enables every provider, as Milvus).
	Models embedding.Config
}

// publicFromConfig takes the public API's settings from a configuration.
func publicFromConfig(c *config.Config) PublicAPI {
	return PublicAPI{Listen: c.Milvago.Listen, TLSMode: c.Common.Security.TLSMode, TLS: c.TLS, Pprof: c.Milvago.Pprof, Limits: c.Limits,
		Models: modelsFromConfig(c)}
}

// modelsFromConfig is the function.* and credential.* keys.
func modelsFromConfig(c *config.Config) embedding.Config {
	p := func(m config.ModelProvider) embedding.Provider {
		return embedding.Provider{Disabled: !m.Enable, Credential: m.Credential, URL: m.URL, ResourceName: m.ResourceName}
	}
	te, rr := c.Function.TextEmbedding.Providers, c.Function.Rerank.Model.Providers
	return embedding.Config{
		TextEmbedding: map[string]embedding.Provider{"tei": p(te.TEI), "openai": p(te.OpenAI), "azure_openai": p(te.AzureOpenAI), "siliconflow": p(te.Siliconflow),
			"cohere": p(te.Cohere), "voyageai": p(te.VoyageAI), "dashscope": p(te.Dashscope), "gemini": p(te.Gemini), "bedrock": p(te.Bedrock), "vertexai": p(te.VertexAI), "zilliz": p(te.Zilliz)},
		Rerank: map[string]embedding.Provider{"tei": p(rr.TEI), "vllm": p(rr.VLLM),
			"cohere": p(rr.Cohere), "voyageai": p(rr.VoyageAI), "siliconflow": p(rr.Siliconflow), "ali": p(rr.Ali), "zilliz": p(rr.Zilliz)},
		Zilliz: embedding.ZillizConfig{Endpoint: c.Function.Models.Zilliz.Endpoint, EnableTLS: c.Function.Models.Zilliz.EnableTLS,
			CertFile: c.Function.Models.Zilliz.CertFile, ServerNameOverride: c.Function.Models.Zilliz.ServerNameOverride,
			InstanceID: c.MsgChannel.ChanNamePrefix.Cluster},
		Credentials:      c.Credentials,
		CredentialValues: c.CredentialValues,
		Timeout:          time.Duration(c.Tuning.MilvagoFunctionRequestTimeout) * time.Millisecond,
		Retries:          c.Tuning.MilvagoFunctionMaxRetries,
		Backoff:          time.Duration(c.Tuning.MilvagoFunctionRetryBackoff) * time.Millisecond,
		Env:              func(name string) string { return c.ModelEnv[name] },
	}
}

// serverTLS loads the certificates of tlsMode (nil for mode 0).
func (p PublicAPI) serverTLS() (*tls.Config, error) {
	return rpc.ServerTLS(p.TLSMode, p.TLS.ServerPemPath, p.TLS.ServerKeyPath, p.TLS.CAPemPath)
}

// proxyLimits are the request limits (zero fields: Milvus's defaults).
func (p PublicAPI) proxyLimits() proxy.Limits {
	l := p.Limits
	return proxy.Limits{NQ: l.NQ, TopK: l.TopK, MaxQueryResultWindow: l.MaxQueryResultWindow, MaxOutputSize: l.MaxOutputSize,
		MaxInsertSize: l.MaxInsertSize, MaxResultEntries: l.MaxResultEntries,
		SearchRequery: proxy.RequeryPolicy(l.SearchRequeryPolicy), HybridRequery: proxy.RequeryPolicy(l.HybridSearchRequeryPolicy)}
}

// limiter is the quota of one proxy: its rate limits, and the write
// protection's verdict fetched from src (the quota center in process, or
// the root coordinator's); requests counts its decisions (nil: none).
// nil when quotaAndLimits is off.
func (p PublicAPI) limiter(src quota.StatesSource, requests *quota.Requests, logger *slog.Logger) *quota.Limiter {
	l := p.Limits
	if !l.Enabled {
		return nil
	}
	r := func(r config.Rates) quota.Rates {
		return quota.Rates{Max: r.Max, DB: r.DB, Collection: r.Collection, Partition: r.Partition, CollectionMin: r.CollectionMin}
	}
	return quota.New(quota.Config{Enabled: true,
		DMLEnabled: l.DMLEnabled, DQLEnabled: l.DQLEnabled, DDLEnabled: l.DDLEnabled,
		Insert: r(l.Insert), Delete: r(l.Delete), BulkLoad: r(l.BulkLoad), Search: r(l.Search), Query: r(l.Query),
		CollectionRate: l.CollectionRate, PartitionRate: l.PartitionRate,
		CollectionRateDB: l.CollectionRateDB, PartitionRateDB: l.PartitionRateDB,
		FlushEnabled: l.FlushEnabled, FlushRate: l.FlushRate, FlushRateCollection: l.FlushRateCollection, FlushRateDB: l.FlushRateDB,
		IndexEnabled: l.IndexEnabled, IndexRate: l.IndexRate, IndexRateDB: l.IndexRateDB,
		CompactionEnabled: l.CompactionEnabled, CompactionRate: l.CompactionRate, CompactionRateDB: l.CompactionRateDB,
		DBRateEnabled: l.DBRateEnabled, DBRate: l.DBRate,
		ForceDenyWriting: l.ForceDenyWriting, ForceDenyReading: l.ForceDenyReading,
		CollectInterval: p.collectInterval(), Source: src, Requests: requests,
	}, logger)
}

// quotaCenter is the cluster's one sampler of the write protection
// (standalone's, or the root coordinator's): nodes report the workers'
// memory, place which collections each holds (nil: every node holds all,
// standalone), sizes the stored binlogs; dataDir is the directory whose
// disk it watches ("": none); proxies counts the live proxies every rate
// is divided among (nil: one, standalone). nil when quotaAndLimits is off.
func (p PublicAPI) quotaCenter(dataDir string, nodes quota.Nodes, place quota.Placement, sizes quota.Storage, proxies quota.ProxyCounter, logger *slog.Logger) *quota.Center {
	l := p.Limits
	if !l.Enabled {
		return nil
	}
	cfg := quota.CenterConfig{
		MemProtection:               l.MemProtection,
		DataNodeMemoryLowWaterLevel: l.DataNodeMemoryLowWaterLevel, DataNodeMemoryHighWaterLevel: l.DataNodeMemoryHighWaterLevel,
		QueryNodeMemoryLowWaterLevel: l.QueryNodeMemoryLowWaterLevel, QueryNodeMemoryHighWaterLevel: l.QueryNodeMemoryHighWaterLevel,
		GrowingProtection: l.GrowingProtection, GrowingMinRateRatio: l.GrowingMinRateRatio,
		GrowingLowWaterLevel: l.GrowingLowWaterLevel, GrowingHighWaterLevel: l.GrowingHighWaterLevel,
		DiskProtection: l.DiskProtection, DiskHighWaterLevel: l.DiskHighWaterLevel,
		DiskQuotaBytes: mbBytes(l.DiskQuotaMB), DiskQuotaPerDB: mbBytes(l.DiskQuotaPerDBMB),
		DiskQuotaPerCollection: mbBytes(l.DiskQuotaPerCollectionMB), DiskQuotaPerPartition: mbBytes(l.DiskQuotaPerPartitionMB),
		CollectInterval: p.collectInterval(),
		Nodes:           nodes, Placement: place, Storage: sizes, Proxies: proxies,
	}
	if dataDir != "" {
		cfg.Probe = quota.HostProbe{Dir: dataDir}
	}
	return quota.NewCenter(cfg, logger)
}

// collectInterval is quotaAndLimits.quotaCenterCollectInterval.
func (p PublicAPI) collectInterval() time.Duration {
	return time.Duration(p.Limits.CollectInterval * float64(time.Second))
}

// mbBytes is a quota in MB as bytes (<= 0: none).
func mbBytes(v float64) int64 {
	if v <= 0 {
		return 0
	}
	return int64(v * (1 << 20))
}

// maxRecvBytes is proxy.grpc.serverMaxRecvSize (0: rpc's default).
func (p PublicAPI) maxRecvBytes() int { return p.Limits.ServerMaxRecvSize }
