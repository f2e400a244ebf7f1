package app

import (
	"testing"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/segment"
)

// TestInterimFromConfig: the key defaults are Milvus's (segment's own
// defaults), and the keys reach the segment configuration.
func TestInterimFromConfig(t *testing.T) {
	for _, mode := range []config.Mode{config.Standalone, config.Cluster} {
		if got, want := interimFromConfig(config.Default(mode)), segment.DefaultInterimIndexConfig(); got != want {
			t.Errorf("defaults: got %+v, want %+v", got, want)
		}
	}
	c := config.Default(config.Standalone)
	c.QueryNodeSegcoreInterimIndexEnableIndex = false
	c.QueryNodeSegcoreInterimIndexNlist, c.QueryNodeSegcoreInterimIndexNprobe = 64, 8
	c.QueryNodeSegcoreInterimIndexIndexBuildRatio = 0.25
	got := interimFromConfig(c)
	if got.Enable || got.NList != 64 || got.NProbe != 8 || got.BuildRatio != 0.25 {
		t.Errorf("from config: %+v", got)
	}
	if s := StandaloneFromConfig(c); s.Interim == nil || *s.Interim != got {
		t.Errorf("standalone config carries %+v, want %+v", s.Interim, got)
	}
}
