package analyzer

import (
	"encoding/json"
)

// Multi is a multi-language analyzer (a field's multi_analyzer_params):
// named analyzers, aliases of names, and the field whose value names each
// row's analyzer (by_field). Unknown names use "default".
type Multi struct {
	ByField   string
	analyzers map[string]*Analyzer
	alias     map[string]string
}

// NewMulti parses multi_analyzer_params with Milvus's
// (MultiAnalyzerBM25FunctionRunner) rules and texts.
func NewMulti(params string) (*Multi, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(params), &m); err != nil {
		return nil, errorf("json error: %v", err)
	}
	by, ok := m["by_field"]
	if !ok {
		return nil, errorf("bm25 function with multi analyzer must have by_field param in multi_analyzer_params")
	}
	mu := &Multi{analyzers: map[string]*Analyzer{}, alias: map[string]string{}}
	if err := json.Unmarshal(by, &mu.ByField); err != nil {
		return nil, errorf("bm25 function with multi analyzer by_field must be string but now: %s", by)
	}
	if v, ok := m["alias"]; ok {
		if err := json.Unmarshal(v, &mu.alias); err != nil {
			return nil, errorf("bm25 function with multi analyzer mapping must be string map but now: %s", v)
		}
	}
	raw, ok := m["analyzers"]
	if !ok {
		return nil, errorf("bm25 function with multi analyzer must have analyzers param in multi_analyzer_params")
	}
	var as map[string]json.RawMessage
	if err := json.Unmarshal(raw, &as); err != nil {
		return nil, errorf("bm25 function unmarshal multi_analyzer_params analyzers failed : %v", err)
	}
	for name, p := range as {
		a, err := New(string(p))
		if err != nil {
			return nil, errorf("bm25 function create analyzer %s failed with error: %v", name, err)
		}
		mu.analyzers[name] = a
	}
	if _, ok := mu.analyzers["default"]; !ok {
		return nil, errorf("multi analyzer must set default analyzer")
	}
	return mu, nil
}

// Get returns the analyzer of a name (after aliases), else the default.
func (m *Multi) Get(name string) *Analyzer {
	if a, ok := m.alias[name]; ok {
		name = a
	}
	if a, ok := m.analyzers[name]; ok {
		return a
	}
	return m.analyzers["default"]
}

// Names lists the analyzer names, for messages.
func (m *Multi) Names() []string {
	out := make([]string, 0, len(m.analyzers))
	for n := range m.analyzers {
		out = append(out, n)
	}
	return out
}
