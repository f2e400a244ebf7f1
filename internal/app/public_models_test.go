package app

import (
	"testing"

	"github.com/milvago/milvago/internal/config"
)

// TestModelsFromConfig: every provider's enable reaches the model
// service's configuration under Milvus's provider name, zilliz's and
// the ali reranker's among them.
func TestModelsFromConfig(t *testing.T) {
	c := config.Default(config.Standalone)
	m := modelsFromConfig(c)
	for _, p := range []string{"tei", "openai", "azure_openai", "siliconflow", "cohere", "voyageai", "dashscope", "gemini", "bedrock", "vertexai", "zilliz"} {
		if conf, ok := m.TextEmbedding[p]; !ok || conf.Disabled {
			t.Errorf("text embedding provider %s: %+v, %v (enabled by default)", p, conf, ok)
		}
	}
	for _, p := range []string{"tei", "vllm", "cohere", "voyageai", "siliconflow", "ali", "zilliz"} {
		if conf, ok := m.Rerank[p]; !ok || conf.Disabled {
			t.Errorf("rerank provider %s: %+v, %v (enabled by default)", p, conf, ok)
		}
	}
	c.Function.TextEmbedding.Providers.Zilliz.Enable = false
	c.Function.Rerank.Model.Providers.Zilliz.Enable = false
	c.Function.Rerank.Model.Providers.Ali.Enable = false
	c.Function.Rerank.Model.Providers.Ali.URL = "http://127.0.0.1:1/rerank"
	m = modelsFromConfig(c)
	if !m.TextEmbedding["zilliz"].Disabled || !m.Rerank["zilliz"].Disabled || !m.Rerank["ali"].Disabled || m.Rerank["ali"].URL != "http://127.0.0.1:1/rerank" {
		t.Errorf("disabled zilliz and ali: %+v %+v", m.TextEmbedding["zilliz"], m.Rerank)
	}
}
