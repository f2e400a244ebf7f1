package app

import (
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/segment"
)

// interimFromConfig is the growing segments' interim index configuration:
// queryNode.segcore.interimIndex.* over Milvus's defaults.
func interimFromConfig(c *config.Config) segment.InterimIndexConfig {
	s := segment.DefaultInterimIndexConfig()
	k := c.InterimIndex
	s.Enable = k.QueryNodeSegcoreInterimIndexEnableIndex
	s.NList = k.QueryNodeSegcoreInterimIndexNlist
	s.NProbe = k.QueryNodeSegcoreInterimIndexNprobe
	s.BuildRatio = k.QueryNodeSegcoreInterimIndexIndexBuildRatio
	return s
}
