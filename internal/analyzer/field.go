package analyzer

import (
	"fmt"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TypeParam returns a field type parameter.
func TypeParam(f *schemapb.FieldSchema, key string) (string, bool) {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}

// EnableAnalyzer reports the field's enable_analyzer type parameter.
func EnableAnalyzer(f *schemapb.FieldSchema) bool {
	v, _ := TypeParam(f, "enable_analyzer")
	return strings.EqualFold(v, "true")
}

// EnableMatch reports the field's enable_match type parameter.
func EnableMatch(f *schemapb.FieldSchema) bool {
	v, _ := TypeParam(f, "enable_match")
	return strings.EqualFold(v, "true")
}

// ForField builds the analyzer of a VarChar field from its
// analyzer_params (the standard analyzer without them). A field with
// multi_analyzer_params gets its default analyzer (MultiForField).
func ForField(f *schemapb.FieldSchema) (*Analyzer, error) {
	if m, ok, err := MultiForField(f); ok {
		if err != nil {
			return nil, err
		}
		return m.Get("default"), nil
	}
	p, _ := TypeParam(f, "analyzer_params")
	a, err := New(p)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", f.GetName(), err)
	}
	return a, nil
}

// MultiForField builds a field's multi-language analyzer; ok is false
// without multi_analyzer_params.
func MultiForField(f *schemapb.FieldSchema) (*Multi, bool, error) {
	p, ok := TypeParam(f, "multi_analyzer_params")
	if !ok {
		return nil, false, nil
	}
	m, err := NewMulti(p)
	if err != nil {
		return nil, true, fmt.Errorf("field %s: %w", f.GetName(), err)
	}
	return m, true, nil
}
