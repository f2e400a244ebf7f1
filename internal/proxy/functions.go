package proxy

import (
	"slices"
	"unicode/utf8"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/index"
)

// validateFunctions is Milvus 2.6's validateFunction (proxy/util.go):
// function names, input and output fields, and each type's rules, in
// Milvus's order and texts. It marks output fields IsFunctionOutput (and
// clears the flag elsewhere: only a function decides it).
func validateFunctions(schema *schemapb.CollectionSchema) error {
	byName := map[string]*schemapb.FieldSchema{}
	for _, f := range schema.GetFields() {
		byName[f.GetName()] = f
		f.IsFunctionOutput = false
	}
	usedOutput := map[string]bool{}
	usedName := map[string]bool{}
	for _, fn := range schema.GetFunctions() {
		if err := checkFunctionBasicParams(fn); err != nil {
			return err
		}
		if usedName[fn.GetName()] {
			return errPlain("duplicate function name: %s", fn.GetName())
		}
		usedName[fn.GetName()] = true
		var inputs []*schemapb.FieldSchema
		for _, name := range fn.GetInputFieldNames() {
			f, ok := byName[name]
			if !ok {
				return errPlain("function input field not found: %s", name)
			}
			inputs = append(inputs, f)
		}
		if err := checkFunctionInputField(fn, inputs); err != nil {
			return err
		}
		var outputs []*schemapb.FieldSchema
		for _, name := range fn.GetOutputFieldNames() {
			f, ok := byName[name]
			if !ok {
				return errPlain("function output field not found: %s", name)
			}
			if f.GetIsPrimaryKey() {
				return errPlain("function output field cannot be primary key: function %s, field %s", fn.GetName(), f.GetName())
			}
			if f.GetIsPartitionKey() || f.GetIsClusteringKey() {
				return errPlain("function output field cannot be partition key or clustering key: function %s, field %s", fn.GetName(), f.GetName())
			}
			if f.GetNullable() {
				return errPlain("function output field cannot be nullable: function %s, field %s", fn.GetName(), f.GetName())
			}
			f.IsFunctionOutput = true
			outputs = append(outputs, f)
			if usedOutput[name] {
				return errPlain("duplicate function output field: function %s, field %s", fn.GetName(), name)
			}
			usedOutput[name] = true
		}
		if err := checkFunctionOutputField(fn, outputs); err != nil {
			return err
		}
	}
	// The runtime check (embedding.ValidateFunctions): the BM25 analyzers build.
	for _, fn := range schema.GetFunctions() {
		if fn.GetType() != schemapb.FunctionType_BM25 {
			continue
		}
		if _, err := bm25.FieldAnalyzer(byName[fn.GetInputFieldNames()[0]]); err != nil {
			return errInvalidMsg("failed to create analyzer: %v", err)
		}
	}
	if _, err := bm25.Functions(schema); err != nil {
		return errInvalidMsg("%v", err)
	}
	return nil
}

func checkFunctionBasicParams(fn *schemapb.FunctionSchema) error {
	name := fn.GetName()
	if name == "" {
		return errPlain("function name cannot be empty")
	}
	ins, outs := fn.GetInputFieldNames(), fn.GetOutputFieldNames()
	if len(ins) == 0 {
		return errPlain("function input field names cannot be empty, function: %s", name)
	}
	if len(outs) == 0 {
		return errPlain("function output field names cannot be empty, function: %s", name)
	}
	count := func(list []string, s string) (n int) {
		for _, v := range list {
			if v == s {
				n++
			}
		}
		return n
	}
	for _, in := range ins {
		if in == "" {
			return errPlain("function input field name cannot be empty string, function: %s", name)
		}
		if count(ins, in) > 1 {
			return errPlain("each function input field should be used exactly once in the same function, function: %s, input field: %s", name, in)
		}
	}
	for _, out := range outs {
		if out == "" {
			return errPlain("function output field name cannot be empty string, function: %s", name)
		}
		if slices.Contains(ins, out) {
			return errPlain("a single field cannot be both input and output in the same function, function: %s, field: %s", name, out)
		}
		if count(outs, out) > 1 {
			return errPlain("each function output field should be used exactly once in the same function, function: %s, output field: %s", name, out)
		}
	}
	switch fn.GetType() {
	case schemapb.FunctionType_BM25:
		if len(fn.GetParams()) != 0 {
			return errPlain("BM25 function accepts no params")
		}
	case schemapb.FunctionType_TextEmbedding:
		if len(fn.GetParams()) == 0 {
			return errPlain("TextEmbedding function accepts no params")
		}
	default:
		return errPlain("check function params with unknown function type")
	}
	return nil
}

func checkFunctionInputField(fn *schemapb.FunctionSchema, fields []*schemapb.FieldSchema) error {
	switch fn.GetType() {
	case schemapb.FunctionType_BM25:
		if len(fields) != 1 || (fields[0].GetDataType() != schemapb.DataType_VarChar && fields[0].GetDataType() != schemapb.DataType_Text) {
			return errPlain("BM25 function input field must be a VARCHAR/TEXT field, got %d field with type %s", len(fields), fields[0].GetDataType())
		}
		if !bm25.EnableAnalyzer(fields[0]) {
			return errPlain("BM25 function input field must set enable_analyzer to true")
		}
	case schemapb.FunctionType_TextEmbedding:
		if err := embedding.InputsCheck(fn.GetName(), fields); err != nil {
			return errPlain("%v", err)
		}
	default:
		return errPlain("check input field with unknown function type")
	}
	return nil
}

func checkFunctionOutputField(fn *schemapb.FunctionSchema, fields []*schemapb.FieldSchema) error {
	switch fn.GetType() {
	case schemapb.FunctionType_BM25:
		if len(fields) != 1 {
			return errPlain("BM25 function only need 1 output field, but got %d", len(fields))
		}
		if fields[0].GetDataType() != schemapb.DataType_SparseFloatVector {
			return errPlain("BM25 function output field must be a SparseFloatVector field, but got %s", fields[0].GetDataType())
		}
	case schemapb.FunctionType_TextEmbedding:
		if err := embedding.OutputsCheck(fields); err != nil {
			return errPlain("%v", err)
		}
	default:
		return errPlain("check output field for unknown function type")
	}
	return nil
}

// validateAnalyzerFields checks the analyzer_params of every VarChar field
// with enable_analyzer, as Milvus validates them at creation.
func validateAnalyzerFields(schema *schemapb.CollectionSchema) error {
	for _, f := range schema.GetFields() {
		if f.GetDataType() != schemapb.DataType_VarChar || !(bm25.EnableAnalyzer(f) || bm25.EnableMatch(f)) {
			continue
		}
		if _, err := bm25.FieldAnalyzer(f); err != nil {
			return errInvalidMsg("failed to create analyzer: %v", err)
		}
	}
	return nil
}

// assignFunctionFieldIDs fills each function's input and output field IDs
// from their names once field IDs are assigned (rootcoord does this).
func assignFunctionFieldIDs(schema *schemapb.CollectionSchema) {
	ids := map[string]int64{}
	for _, f := range schema.GetFields() {
		ids[f.GetName()] = f.GetFieldID()
	}
	for i, fn := range schema.GetFunctions() {
		fn.Id = int64(startOfUserFunctionID + i)
		fn.InputFieldIds = fn.InputFieldIds[:0]
		for _, n := range fn.GetInputFieldNames() {
			fn.InputFieldIds = append(fn.InputFieldIds, ids[n])
		}
		fn.OutputFieldIds = fn.OutputFieldIds[:0]
		for _, n := range fn.GetOutputFieldNames() {
			fn.OutputFieldIds = append(fn.OutputFieldIds, ids[n])
		}
	}
}

// startOfUserFunctionID is Milvus's common.StartOfUserFunctionID.
const startOfUserFunctionID = 100

// bm25Insert computes the output columns of the collection's BM25
// functions from their input columns (Milvus runs the function in the
// write path; the output field is never supplied).
func bm25Insert(schema *schemapb.CollectionSchema, cols map[int64]column.Column, n int) error {
	fns, err := bm25.Functions(schema)
	if err != nil {
		return errInvalidMsg("%v", err)
	}
	for _, fn := range fns {
		in, ok := cols[fn.Input.GetFieldID()].(*column.Scalar[string])
		if !ok {
			return errPlain("BM25 function %s: input field %s is missing", fn.Name, fn.Input.GetName())
		}
		var by *column.Scalar[string]
		if fn.Multi != nil {
			if by, ok = cols[fn.ByField.GetFieldID()].(*column.Scalar[string]); !ok {
				return errPlain("BM25 function with multi analyzer: field %s must be a VarChar field", fn.ByField.GetName())
			}
		}
		out := &column.SparseVector{Rows: make([][]byte, n)}
		for i := range n {
			if in.IsNull(i) {
				out.Rows[i] = []byte{}
				continue
			}
			a := fn.Analyzer
			if by != nil {
				name := ""
				if !by.IsNull(i) {
					name = by.Data[i]
				}
				a = fn.AnalyzerFor(name)
			}
			out.Rows[i] = bm25.TF(a, in.Data[i])
			if l := len(out.Rows[i]); l > 0 {
				if d := int64(lastIndex(out.Rows[i])) + 1; d > out.Dim {
					out.Dim = d
				}
			}
		}
		cols[fn.Output.GetFieldID()] = out
	}
	return nil
}

func lastIndex(row []byte) uint32 {
	var last uint32
	bm25.Each(row[len(row)-8:], func(idx uint32, _ float32) { last = idx })
	return last
}

// checkNoBM25Output refuses a write that carries a BM25 function's output
// field (typeutil.GetNeedProcessFunctions).
func checkNoBM25Output(schema *schemapb.CollectionSchema, fields []*schemapb.FieldData) error {
	for _, fn := range schema.GetFunctions() {
		if fn.GetType() != schemapb.FunctionType_BM25 {
			continue
		}
		for _, fd := range fields {
			if slices.Contains(fn.GetOutputFieldNames(), fd.GetFieldName()) || (fd.GetFieldId() != 0 && slices.Contains(fn.GetOutputFieldIds(), fd.GetFieldId())) {
				return errPlain("attempt to insert bm25 function output field")
			}
		}
	}
	return nil
}

// withoutFunctionOutputs drops function output columns (a partial
// update's merged rows carry the old ones; they are computed again).
func withoutFunctionOutputs(schema *schemapb.CollectionSchema, fields []*schemapb.FieldData) []*schemapb.FieldData {
	out := fields[:0:0]
	for _, fd := range fields {
		drop := false
		for _, f := range schema.GetFields() {
			if f.GetIsFunctionOutput() && f.GetName() == fd.GetFieldName() {
				drop = true
			}
		}
		if !drop {
			out = append(out, fd)
		}
	}
	return out
}

// bm25Queries turns the texts of a search against a BM25 function's
// output field into term-frequency rows; the query node weights them by
// its corpus statistics (Milvus's delegator buildBM25IDF).
// analyzerName (search param analyzer_name) picks a multi-language
// analyzer's analyzer ("default" when empty).
func bm25Queries(schema *schemapb.CollectionSchema, field *schemapb.FieldSchema, spec *searchSpec, ph *commonpb.PlaceholderValue, nq int, analyzerName string) (index.Dataset, error) {
	if spec.Metric != index.BM25 && spec.Metric != "" && spec.Metric != defaultMetric(field.GetDataType()) {
		return index.Dataset{}, errInvalidValue("BM25", spec.Metric, "must use BM25 metric type when searching against BM25 Function output field")
	}
	spec.Metric = index.BM25
	if ph.GetType() != commonpb.PlaceholderType_VarChar {
		return index.Dataset{}, errInvalidMsg("please provide varchar/text for BM25 Function based search, got %s", ph.GetType())
	}
	if len(ph.GetValues()) != nq {
		return index.Dataset{}, errInvalidValue(nq, len(ph.GetValues()), "the number of query vectors does not match nq")
	}
	fns, err := bm25.Functions(schema)
	if err != nil {
		return index.Dataset{}, errInvalidMsg("%v", err)
	}
	fn, ok := bm25.OutputOf(fns, field.GetFieldID())
	if !ok {
		return index.Dataset{}, errPlain("functionRunner not found for field: %d", field.GetFieldID())
	}
	a := fn.AnalyzerFor(analyzerName)
	rows := make([][]byte, nq)
	for i, v := range ph.GetValues() {
		if !utf8.Valid(v) {
			return index.Dataset{}, errInvalidMsg("string data must be utf8 format: %v", string(v))
		}
		rows[i] = bm25.TF(a, string(v))
	}
	return index.Dataset{Sparse: rows}, nil
}

// bm25IndexParams is Milvus's parseFunctionParamsToIndex: an index on a
// BM25 function's output field defaults bm25_k1 1.2, bm25_b 0.75,
// bm25_avgdl 100 and metric BM25, and takes no other metric.
func bm25IndexParams(schema *schemapb.CollectionSchema, field *schemapb.FieldSchema, params map[string]string) error {
	if !field.GetIsFunctionOutput() || !bm25.IsOutput(schema, field.GetFieldID()) {
		return nil
	}
	for k, v := range map[string]string{"bm25_k1": "1.2", "bm25_b": "0.75", "bm25_avgdl": "100"} {
		if _, ok := params[k]; !ok {
			params[k] = v
		}
	}
	m, ok := params["metric_type"]
	if !ok {
		params["metric_type"] = string(index.BM25)
	} else if m != string(index.BM25) {
		return errPlain("index metric type of BM25 function output field must be BM25, got %s", m)
	}
	return nil
}
