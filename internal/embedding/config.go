package embedding

import (
	"net/http"
	"time"
)

// Config is the operator's model service configuration, in Milvus's keys.
type Config struct {
	// TextEmbedding is function.textEmbedding.providers.<provider>.*, by
	// provider name (tei, openai, azure_openai, siliconflow).
	TextEmbedding map[string]Provider
	// Rerank is function.rerank.model.providers.<provider>.* (tei, vllm).
	Rerank map[string]Provider
	// Zilliz is function.models.zilliz.*: the model service of semantic
	// highlighters.
	Zilliz ZillizConfig
	// Credentials are credential.<name>.apikey, by name: a function's or a
	// provider's `credential` parameter names one.
	Credentials map[string]string
	// CredentialValues are Milvus's other credential keys, by their name
	// without the credential. prefix: <name>.access_key_id and
	// <name>.secret_access_key (bedrock's AWS credentials).
	CredentialValues map[string]string
	// BatchFactor is function.batch_factor: an insert or search may carry
	// BatchFactor times a provider's client batch size of texts (the
	// provider is called one client batch at a time). <= 0: 5.
	BatchFactor int
	// Timeout bounds one HTTP request; <= 0: 30 s (Milvus's).
	Timeout time.Duration
	// Retries is the number of attempts of a failed request; <= 0: 3.
	Retries int
	// Backoff is the wait before the second attempt, doubled before each
	// next one (plus up to a quarter of jitter); <= 0: 1 s.
	Backoff time.Duration
	// Env looks up the environment variables Milvus reads an API key from
	// when neither the function nor the configuration names a credential
	// (MILVUS_OPENAI_API_KEY, ...); nil: none.
	Env func(string) string
	// Client sends the requests; nil: a client of its own.
	Client *http.Client
}

// Provider is one provider's settings.
type Provider struct {
	// Disabled is `enable: false`: functions and rerankers of the provider
	// are refused (Milvus enables every provider by default).
	Disabled bool
	// Credential names the credential.<name>.apikey to send.
	Credential string
	// URL overrides the provider's default endpoint (openai, azure_openai,
	// siliconflow).
	URL string
	// ResourceName is azure_openai's resource_name.
	ResourceName string
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.BatchFactor <= 0 {
		c.BatchFactor = 5
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Retries <= 0 {
		c.Retries = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.Env == nil {
		c.Env = func(string) string { return "" }
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	return c
}
