package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Function is the configuration of the model services text_embedding
// functions and model rerankers call (docs/embedding.md): Milvus's
// function.textEmbedding.providers.* and function.rerank.model.providers.*
// keys. Its fields spell their keys.
type Function struct {
	TextEmbedding FunctionTextEmbedding
	Rerank        FunctionRerank
	Models        FunctionModels
}

// FunctionModels is function.models.*: Milvus 2.6's "zilliz" gRPC model
// service, which zilliz text_embedding functions and model rerankers
// (docs/embedding.md) and semantic highlighters (docs/highlight.md) call.
type FunctionModels struct {
	Zilliz struct {
		Endpoint           string
		EnableTLS          bool
		CertFile           string
		ServerNameOverride string
	}
}

// FunctionTextEmbedding is function.textEmbedding.*.
type FunctionTextEmbedding struct {
	Providers struct {
		TEI, OpenAI, AzureOpenAI, Siliconflow ModelProvider
		Cohere, VoyageAI, Dashscope, Gemini   ModelProvider
		Bedrock, VertexAI                     ModelProvider
		// Zilliz is the zilliz provider's enable: its service is
		// function.models.zilliz.*, so it has no credential or url.
		Zilliz ModelProvider
	}
}

// FunctionRerank is function.rerank.*.
type FunctionRerank struct {
	Model struct {
		Providers struct {
			TEI, VLLM                     ModelProvider
			Cohere, VoyageAI, Siliconflow ModelProvider
			// Ali is DashScope's reranker (provider "ali").
			Ali ModelProvider
			// Zilliz is the zilliz reranker's enable (its service is
			// function.models.zilliz.*).
			Zilliz ModelProvider
		}
	}
}

// ModelProvider is one provider's keys.
type ModelProvider struct {
	Enable       bool
	Credential   string
	URL          string
	ResourceName string
}

// enableKey is a provider's enable as Milvus reads it (models.IsEnable):
// every value but false, in any case, enables the provider; so does an
// absent or empty one.
func enableKey(name, help string, field func(*Config) *bool) Key {
	return Key{Name: name, Type: "bool", Default: "true", Help: help, set: func(c *Config, raw string) error {
		*field(c) = !strings.EqualFold(strings.TrimSpace(raw), "false")
		return nil
	}}
}

// providerKeys are a provider's keys: enable and credential, and url and
// resource_name when it has them.
func providerKeys(prefix, kind, provider string, at func(c *Config) *ModelProvider, url, resource bool) []Key {
	name := prefix + provider + "."
	out := []Key{
		enableKey(name+"enable", fmt.Sprintf("allow %s of provider %s (false, in any case: refused as disabled; any other value enables it)", kind, provider),
			func(c *Config) *bool { return &at(c).Enable }),
		strKey(name+"credential", "", "name of the credential.<name>.apikey sent to the service when the function names none",
			func(c *Config) *string { return &at(c).Credential }),
	}
	if url {
		out = append(out, strKey(name+"url", "", "the service's URL; empty: the provider's official endpoint",
			func(c *Config) *string { return &at(c).URL }))
	}
	if resource {
		out = append(out, strKey(name+"resource_name", "", "Azure OpenAI resource name (the URL is https://<name>.openai.azure.com)",
			func(c *Config) *string { return &at(c).ResourceName }))
	}
	return out
}

var functionKeys = func() []Key {
	const te, rr = "function.textEmbedding.providers.", "function.rerank.model.providers."
	const emb, rer = "text_embedding functions", "model rerankers"
	var out []Key
	out = append(out, providerKeys(te, emb, "tei", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.TEI }, false, false)...)
	out = append(out, providerKeys(te, emb, "openai", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.OpenAI }, true, false)...)
	out = append(out, providerKeys(te, emb, "azure_openai", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.AzureOpenAI }, true, true)...)
	out = append(out, providerKeys(te, emb, "siliconflow", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.Siliconflow }, true, false)...)
	out = append(out, providerKeys(te, emb, "cohere", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.Cohere }, true, false)...)
	out = append(out, providerKeys(te, emb, "voyageai", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.VoyageAI }, true, false)...)
	out = append(out, providerKeys(te, emb, "dashscope", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.Dashscope }, true, false)...)
	out = append(out, providerKeys(te, emb, "bedrock", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.Bedrock }, false, false)...)
	// Milvus has no URL key for bedrock (its SDK client derives the
	// endpoint from the region); Milvago's lets an endpoint of one's own
	// (a VPC endpoint, a proxy) stand in.
	out = append(out, strKey("milvago."+te+"bedrock.url", "", "URL of the Bedrock runtime service instead of the region's public endpoint (Milvus has no such key)",
		func(c *Config) *string { return &c.Function.TextEmbedding.Providers.Bedrock.URL }))
	out = append(out, providerKeys(te, emb, "vertexai", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.VertexAI }, true, false)...)
	out = append(out, providerKeys(te, emb, "gemini", func(c *Config) *ModelProvider { return &c.Function.TextEmbedding.Providers.Gemini }, true, false)...)
	out = append(out, enableKey(te+"zilliz.enable", "allow "+emb+" of provider zilliz, the function.models.zilliz service (false, in any case: refused as disabled)",
		func(c *Config) *bool { return &c.Function.TextEmbedding.Providers.Zilliz.Enable }))
	out = append(out, providerKeys(rr, rer, "cohere", func(c *Config) *ModelProvider { return &c.Function.Rerank.Model.Providers.Cohere }, true, false)...)
	out = append(out, providerKeys(rr, rer, "voyageai", func(c *Config) *ModelProvider { return &c.Function.Rerank.Model.Providers.VoyageAI }, true, false)...)
	out = append(out, providerKeys(rr, rer, "siliconflow", func(c *Config) *ModelProvider { return &c.Function.Rerank.Model.Providers.Siliconflow }, true, false)...)
	out = append(out, providerKeys(rr, rer, "tei", func(c *Config) *ModelProvider { return &c.Function.Rerank.Model.Providers.TEI }, false, false)...)
	out = append(out, providerKeys(rr, rer, "vllm", func(c *Config) *ModelProvider { return &c.Function.Rerank.Model.Providers.VLLM }, false, false)...)
	out = append(out, providerKeys(rr, rer, "ali", func(c *Config) *ModelProvider { return &c.Function.Rerank.Model.Providers.Ali }, true, false)...)
	out = append(out, enableKey(rr+"zilliz.enable", "allow "+rer+" of provider zilliz, the function.models.zilliz service (false, in any case: refused as disabled)",
		func(c *Config) *bool { return &c.Function.Rerank.Model.Providers.Zilliz.Enable }))
	const zl = "function.models.zilliz."
	out = append(out,
		strKey(zl+"endpoint", "", "host:port of the gRPC model service (Milvus's zilliz provider) that zilliz text_embedding functions, model rerankers and semantic highlighters call; empty: they are refused",
			func(c *Config) *string { return &c.Function.Models.Zilliz.Endpoint }),
		boolKey(zl+"enableTLS", "false", "call the model service over TLS",
			func(c *Config) *bool { return &c.Function.Models.Zilliz.EnableTLS }),
		strKey(zl+"certFile", "", "CA certificate (PEM) that signs the model service's certificate, with enableTLS",
			func(c *Config) *string { return &c.Function.Models.Zilliz.CertFile }),
		strKey("msgChannel.chanNamePrefix.cluster", "by-dev", "Milvus's cluster prefix; Milvago uses it only as the instance-id metadata of its calls to the zilliz model service",
			func(c *Config) *string { return &c.MsgChannel.ChanNamePrefix.Cluster }),
		strKey(zl+"serverNameOverride", "", "server name to verify in the model service's certificate instead of the endpoint's host",
			func(c *Config) *string { return &c.Function.Models.Zilliz.ServerNameOverride }),
	)
	return out
}()

// readCredentials reads the file's credential section: each
// credential.<name>.apikey, the AWS credentials' access_key_id and
// secret_access_key, and the GCP credentials' credential_json.
func (l *loader) readCredentials(file string, section *yaml.Node) {
	for i := 0; i+1 < len(section.Content); i += 2 {
		kn, vn := section.Content[i], section.Content[i+1]
		for vn.Kind == yaml.AliasNode {
			vn = vn.Alias
		}
		name := "credential." + kn.Value
		if vn.Kind != yaml.MappingNode {
			l.ignore(name, fmt.Sprintf("%s:%d", file, kn.Line), vn)
			continue
		}
		for j := 0; j+1 < len(vn.Content); j += 2 {
			k, v := vn.Content[j], vn.Content[j+1]
			if strings.ToLower(k.Value) == "apikey" && v.Kind == yaml.ScalarNode {
				if l.credentials == nil {
					l.credentials = map[string]string{}
				}
				if v.Tag != "!!null" {
					l.credentials[kn.Value] = v.Value
				}
				continue
			}
			if kk := strings.ToLower(k.Value); (kk == "access_key_id" || kk == "secret_access_key" || kk == "credential_json") && v.Kind == yaml.ScalarNode {
				if l.credentialValues == nil {
					l.credentialValues = map[string]string{}
				}
				if v.Tag != "!!null" {
					l.credentialValues[kn.Value+"."+kk] = v.Value
				}
				continue
			}
			l.ignore(name+"."+k.Value, fmt.Sprintf("%s:%d", file, k.Line), v)
		}
	}
}

// modelEnv picks from env the variables Milvus reads model service API
// keys and the Azure resource name from when no credential is configured:
// MILVUS_*_API_KEY, their deprecated MILVUSAI_* spellings, and
// MILVUS_AZURE_OPENAI_RESOURCE_NAME.
func modelEnv(env []string) map[string]string {
	out := map[string]string{}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || val == "" {
			continue
		}
		key := strings.HasSuffix(name, "_API_KEY") && (strings.HasPrefix(name, "MILVUS_") || strings.HasPrefix(name, "MILVUSAI_"))
		if key || name == "MILVUS_AZURE_OPENAI_RESOURCE_NAME" || name == "MILVUS_BEDROCK_ACCESS_KEY_ID" || name == "MILVUS_BEDROCK_SECRET_ACCESS_KEY" || name == "MILVUS_GOOGLE_APPLICATION_CREDENTIALS" {
			out[name] = val
		}
	}
	return out
}

func init() {
	for i := range functionKeys {
		functionKeys[i].Env = EnvName(functionKeys[i].Name)
	}
	keys = append(keys, functionKeys...)
}
