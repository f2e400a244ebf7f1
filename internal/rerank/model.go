package rerank

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// model is a model reranker whose parameters Milvus accepts. Every model
// provider is a network service, which Milvago does not call: ranking
// refuses the way Milvus refuses a provider its configuration disables,
// after the checks Milvus makes before it would call the service.
type model struct {
	field    string
	provider string
	endpoint string // tei: checked when called, as Milvus does
	queries  []string
}

func (*model) Name() string            { return ModelName }
func (m *model) InputFields() []string { return []string{m.field} }
func (*model) SupportsGroup() bool     { return true }

func (m *model) Rank(lists []List, p Params) ([]Ranked, error) {
	if p.NQ > 0 && len(m.queries) != p.NQ {
		return nil, errPlain("nq must equal to queries size, but got nq [%d], queries size [%d], queries: [%v]", p.NQ, len(m.queries), m.queries)
	}
	n := 0
	for _, l := range lists {
		n += len(l.Hits)
	}
	if n == 0 {
		// No document to score: Milvus calls no service either.
		return newAccumulator().finish(p, true)
	}
	if m.provider == "tei" {
		if err := checkEndpoint(m.endpoint); err != nil {
			return nil, err
		}
	}
	return nil, errPlain("rerank provider: [%s] is disabled", m.provider)
}

// checkEndpoint is Milvus's models.NewBaseURL check.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return errPlain("%v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errPlain("endpoint: [%s] is not a valid http/https link", endpoint)
	}
	return nil
}

// newModel checks a model reranker's parameters in Milvus's order
// (newModelFunction, newProvider and the provider's constructor).
func newModel(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema) (Reranker, error) {
	in, err := inputFields(schema, f)
	if err != nil {
		return nil, err
	}
	if len(in) != 1 {
		return nil, errPlain("rerank model only supports single input, but gets [%s] input", f.GetInputFieldNames())
	}
	if t := in[0].GetDataType(); t != schemapb.DataType_VarChar {
		return nil, errPlain("rerank model only support varchar, bug got [%s]", t.String())
	}
	m := &model{field: in[0].GetName()}
	params := map[string]string{}
	for _, p := range f.GetParams() {
		params[strings.ToLower(p.GetKey())] = p.GetValue()
	}
	provider, ok := params[providerKey]
	if !ok {
		return nil, errPlain("lost rerank params:%s ", providerKey)
	}
	m.provider = strings.ToLower(provider)
	switch m.provider {
	case "tei":
		m.endpoint = params["endpoint"]
	case "vllm":
		endpoint, ok := params["endpoint"]
		if !ok || endpoint == "" {
			return nil, errPlain("rerank function lost params endpoint")
		}
		if err := checkEndpoint(endpoint); err != nil {
			return nil, err
		}
	case "siliconflow", "cohere", "voyageai", "ali":
		if params["model_name"] == "" {
			return nil, errPlain("%s rerank model name is required", m.provider)
		}
	case "zilliz":
	default:
		return nil, errPlain("unknown rerank model provider:%s", provider)
	}
	for _, p := range f.GetParams() {
		if p.GetKey() == queriesKey {
			if err := json.Unmarshal([]byte(p.GetValue()), &m.queries); err != nil {
				return nil, errPlain("parse rerank params [queries] failed, err: %v", err)
			}
		}
	}
	if len(m.queries) == 0 {
		return nil, errPlain("rerank function lost params queries")
	}
	return m, nil
}
