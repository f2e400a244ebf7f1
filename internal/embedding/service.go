package embedding

import (
	"fmt"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

// Service builds text embedding functions and rerank providers from the
// operator's configuration. It is safe for concurrent use.
type Service struct {
	cfg    Config
	tokens tokenCache // Vertex AI's OAuth tokens
}

// New returns a service.
func New(cfg Config) *Service {
	return &Service{cfg: cfg.withDefaults()}
}

// apiKey is Milvus's models.ParseAKAndURL: the function's `credential`
// parameter, else the provider's configured credential, else the
// environment variable envName (and its MILVUSAI_ spelling); and the
// provider's configured url.
func (s *Service) apiKey(params []*commonpb.KeyValuePair, conf Provider, envName string) (string, string, error) {
	var key string
	for _, p := range params {
		if strings.ToLower(p.GetKey()) == credentialParam {
			k, err := s.credential(p.GetValue())
			if err != nil {
				return "", "", err
			}
			key = k
		}
	}
	if key == "" && conf.Credential != "" {
		k, err := s.credential(conf.Credential)
		if err != nil {
			return "", "", err
		}
		key = k
	}
	if key == "" && envName != "" {
		if key = s.cfg.Env(envName); key == "" {
			key = s.cfg.Env("MILVUSAI_" + strings.TrimPrefix(envName, "MILVUS_"))
		}
	}
	return key, conf.URL, nil
}

// credential is Milvus's Credentials.GetAPIKeyCredential.
func (s *Service) credential(name string) (string, error) {
	k, ok := s.cfg.Credentials[name]
	if !ok {
		return "", fmt.Errorf("%s is not a apikey crediential, can not find key: %s.apikey", name, name)
	}
	return k, nil
}

// Milvus's parameter keys (models/common.go).
const (
	providerParam            = "provider"
	modelNameParam           = "model_name"
	dimParam                 = "dim"
	credentialParam          = "credential"
	truncateParam            = "truncate"
	maxClientBatchSizeParam  = "max_client_batch_size"
	userParam                = "user"
	ingestionPromptParam     = "ingestion_prompt"
	searchPromptParam        = "search_prompt"
	truncationDirectionParam = "truncation_direction"
	endpointParam            = "endpoint"
	vllmTruncateParam        = "truncate_prompt_tokens"
)

// Provider names.
const (
	teiProvider         = "tei"
	openAIProvider      = "openai"
	azureOpenAIProvider = "azure_openai"
	siliconflowProvider = "siliconflow"
	vllmProvider        = "vllm"
	zillizProvider      = "zilliz"
)

// Milvus 2.6's text embedding providers, in its order: those Milvago does
// not call are refused by name.
var milvusEmbeddingProviders = []string{"openai", "azure_openai", "dashscope", "bedrock", "vertexai", "voyageai", "cohere", "siliconflow", "tei", "zilliz", "gemini"}
