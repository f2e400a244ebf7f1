package app

import (
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/config"
)

// TestPublicFromConfig: the bind address, TLS, pprof and limits keys reach
// the standalone configuration, and the limits reach the proxy and quota.
func TestPublicFromConfig(t *testing.T) {
	c := config.Default(config.Standalone)
	c.Milvago.Listen, c.Milvago.Pprof = "127.0.0.1", true
	c.Common.Security.TLSMode = 2
	c.TLS = config.TLS{ServerPemPath: "/s.pem", ServerKeyPath: "/s.key", CAPemPath: "/ca.pem"}
	c.Limits.TopK, c.Limits.MaxOutputSize, c.Limits.ServerMaxRecvSize = 100, 1<<20, 1<<22
	s := StandaloneFromConfig(c)
	p := s.Public
	if p.Listen != "127.0.0.1" || !p.Pprof || p.TLSMode != 2 || p.TLS != c.TLS || p.maxRecvBytes() != 1<<22 {
		t.Fatalf("public: %+v", p)
	}
	if l := p.proxyLimits(); l.TopK != 100 || l.MaxOutputSize != 1<<20 || l.NQ != 16384 || l.MaxInsertSize != -1 {
		t.Fatalf("proxy limits: %+v", l)
	}
	if _, err := p.serverTLS(); err == nil || !strings.Contains(err.Error(), "tls.serverPemPath") {
		t.Fatalf("missing certificates: %v", err)
	}
	center := p.quotaCenter(t.TempDir(), nil, nil, nil, nil, nil)
	if center == nil || p.limiter(center, nil, nil) == nil {
		t.Fatal("quotaAndLimits.enabled by default, but no quota center or limiter")
	}
	if r := s.Root; r.MaxCollections != 65536 || r.MaxCollectionsPerDB != 65536 {
		t.Fatalf("root limits: %+v", r)
	}
	c.Limits.MaxCollectionNumPerDB = 3
	if r := StandaloneFromConfig(c).Root; r.MaxCollectionsPerDB != 3 {
		t.Fatalf("quotaAndLimits.limits.maxCollectionNumPerDB: %+v", r)
	}
	c.Limits.Enabled = false
	if pub := StandaloneFromConfig(c).Public; pub.limiter(nil, nil, nil) != nil || pub.quotaCenter("", nil, nil, nil, nil, nil) != nil {
		t.Fatal("a limiter or quota center with quotaAndLimits.enabled false")
	}
	if DefaultStandalone().Public.limiter(nil, nil, nil) != nil {
		t.Fatal("DefaultStandalone enforces quotas")
	}
}
