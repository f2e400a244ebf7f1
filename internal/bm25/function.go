package bm25

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/analyzer"
)

// Function is a schema's BM25 function with its fields and analyzer.
type Function struct {
	Name     string
	Input    *schemapb.FieldSchema
	Output   *schemapb.FieldSchema
	Analyzer *analyzer.Analyzer // the analyzer, or the multi-analyzer's default
	// Multi, for an input field with multi_analyzer_params, picks each
	// row's analyzer by the value of field ByField.
	Multi   *analyzer.Multi
	ByField *schemapb.FieldSchema
}

// AnalyzerFor returns the analyzer of a name (multi-language analyzers;
// others ignore the name).
func (f Function) AnalyzerFor(name string) *analyzer.Analyzer {
	if f.Multi == nil {
		return f.Analyzer
	}
	if name == "" {
		name = "default"
	}
	return f.Multi.Get(name)
}

// FieldAnalyzer builds the analyzer of a VarChar field (analyzer.ForField).
func FieldAnalyzer(f *schemapb.FieldSchema) (*analyzer.Analyzer, error) { return analyzer.ForField(f) }

// EnableAnalyzer reports the field's enable_analyzer type parameter.
func EnableAnalyzer(f *schemapb.FieldSchema) bool { return analyzer.EnableAnalyzer(f) }

// EnableMatch reports the field's enable_match type parameter.
func EnableMatch(f *schemapb.FieldSchema) bool { return analyzer.EnableMatch(f) }

// Functions returns the BM25 functions of a schema whose field IDs are
// assigned.
func Functions(schema *schemapb.CollectionSchema) ([]Function, error) {
	byID := map[int64]*schemapb.FieldSchema{}
	byName := map[string]*schemapb.FieldSchema{}
	for _, f := range schema.GetFields() {
		byID[f.GetFieldID()] = f
		byName[f.GetName()] = f
	}
	find := func(ids []int64, names []string) *schemapb.FieldSchema {
		if len(ids) > 0 {
			return byID[ids[0]]
		}
		if len(names) > 0 {
			return byName[names[0]]
		}
		return nil
	}
	var out []Function
	for _, fn := range schema.GetFunctions() {
		if fn.GetType() != schemapb.FunctionType_BM25 {
			continue
		}
		in := find(fn.GetInputFieldIds(), fn.GetInputFieldNames())
		o := find(fn.GetOutputFieldIds(), fn.GetOutputFieldNames())
		if in == nil || o == nil {
			return nil, fmt.Errorf("BM25 function %s: input or output field not found", fn.GetName())
		}
		a, err := FieldAnalyzer(in)
		if err != nil {
			return nil, err
		}
		f := Function{Name: fn.GetName(), Input: in, Output: o, Analyzer: a}
		if m, ok, _ := analyzer.MultiForField(in); ok {
			f.Multi, f.ByField = m, byName[m.ByField]
			if f.ByField == nil {
				return nil, fmt.Errorf("bm25 function with multi analyzer must have two input fields")
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// OutputOf returns the BM25 function whose output field is fieldID.
func OutputOf(fns []Function, fieldID int64) (Function, bool) {
	for _, f := range fns {
		if f.Output.GetFieldID() == fieldID {
			return f, true
		}
	}
	return Function{}, false
}

// IsOutput reports whether fieldID is the output of a BM25 function of schema.
func IsOutput(schema *schemapb.CollectionSchema, fieldID int64) bool {
	for _, fn := range schema.GetFunctions() {
		if fn.GetType() == schemapb.FunctionType_BM25 && len(fn.GetOutputFieldIds()) > 0 && fn.GetOutputFieldIds()[0] == fieldID {
			return true
		}
	}
	return false
}
