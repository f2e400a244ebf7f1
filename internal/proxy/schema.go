package proxy

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// decodeCreateCollectionSchema decodes and validates the schema of a
// CreateCollection request the way Milvus 2.6's proxy (createCollectionTask.PreExecute)
// and rootcoord (createCollectionTask.prepareSchema) do, in their order, so
// that the first error a user sees is the one Milvus would report.
//
// On success the schema is complete: AutoID cleared at the collection level,
// the dynamic field "$meta" appended when EnableDynamicField is set, field
// IDs assigned from 100 in order, and the shard number defaulted (<= 0 -> 1).
// Partition-key collections also need partitionKeyPartitions for their
// number of partitions.
func decodeCreateCollectionSchema(collectionName string, schemaBytes []byte, shardsNum int32) (*schemapb.CollectionSchema, int32, error) {
	return decodeCreateCollectionSchemaWith(collectionName, schemaBytes, shardsNum, schemaRules{})
}

// schemaRules are the configuration keys the schema checks depend on.
type schemaRules struct {
	// vectorClusteringKey is common.enableVectorClusteringKey: a
	// FloatVector clustering key is allowed.
	vectorClusteringKey bool
}

// decodeCreateCollectionSchemaWith is decodeCreateCollectionSchema under
// rules.
func decodeCreateCollectionSchemaWith(collectionName string, schemaBytes []byte, shardsNum int32, rules schemaRules) (*schemapb.CollectionSchema, int32, error) {
	schema := &schemapb.CollectionSchema{}
	if err := proto.Unmarshal(schemaBytes, schema); err != nil {
		return nil, 0, errPlain("%v", err)
	}
	//lint:ignore SA1019 Milvus clears the deprecated collection-level AutoID; auto_id lives on the primary key.
	schema.AutoID = false
	if err := validateSchemaProxy(schema, shardsNum, rules); err != nil {
		return nil, 0, err
	}
	if err := validateSchemaRootCoord(collectionName, schema); err != nil {
		return nil, 0, err
	}
	if shardsNum <= 0 {
		shardsNum = defaultShardsNum
	}
	if schema.EnableDynamicField {
		schema.Fields = append(schema.Fields, &schemapb.FieldSchema{
			Name:        metaFieldName,
			Description: "dynamic schema",
			DataType:    schemapb.DataType_JSON,
			IsDynamic:   true,
		})
	}
	for i, f := range schema.Fields {
		f.FieldID = int64(startOfUserFieldID + i)
	}
	assignFunctionFieldIDs(schema)
	flattenStructArrays(schema)
	return schema, shardsNum, nil
}

// validateSchemaProxy is the proxy half of Milvus's checks.
func validateSchemaProxy(schema *schemapb.CollectionSchema, shardsNum int32, rules schemaRules) error {
	if err := validateFunctions(schema); err != nil {
		return err
	}
	if shardsNum > maxShardNum {
		return errPlain("maximum shards's number should be limited to %d", maxShardNum)
	}
	if totalFieldNum(schema) > maxFieldNum {
		return errPlain("maximum field's number should be limited to %d", maxFieldNum)
	}
	vectors := 0
	for _, f := range allFieldSchemas(schema) {
		if column.IsVector(f.GetDataType()) || f.GetDataType() == schemapb.DataType_ArrayOfVector {
			vectors++
		}
	}
	if vectors > maxVectorFieldNum {
		return errPlain("maximum vector field's number should be limited to %d", maxVectorFieldNum)
	}
	if vectors == 0 {
		return errInvalidMsg("schema does not contain vector field")
	}
	if err := validateCollectionName(schema.GetName()); err != nil {
		return err
	}
	if err := validatePrimaryKeyDef(schema); err != nil {
		return err
	}
	for _, f := range schema.GetFields() {
		if f.GetIsDynamic() {
			return errPlain("cannot explicitly set a field as a dynamic field")
		}
	}
	if err := validateAutoIDDef(schema); err != nil {
		return err
	}
	if err := structKeyChecks(schema, schema.GetName()); err != nil {
		return err
	}
	for _, f := range schema.GetFields() {
		switch f.GetDataType() {
		case schemapb.DataType_String:
			return errPlain("string data type not supported yet, please use VarChar type instead")
		case schemapb.DataType_None:
			return errPlain("data type None is not valid")
		case schemapb.DataType_Array:
			if err := validateElementType(f.GetElementType()); err != nil {
				return err
			}
		}
	}
	if err := validatePartitionKeyDef(schema); err != nil {
		return err
	}
	if err := validateClusteringKeyDef(schema, rules.vectorClusteringKey); err != nil {
		return err
	}
	for _, f := range schema.GetFields() {
		if err := validateFieldDef(f, schema); err != nil {
			return err
		}
	}
	if err := validateStructArraysProxy(schema); err != nil {
		return err
	}
	if err := validateAnalyzerFields(schema); err != nil {
		return err
	}
	names := make(map[string]struct{}, len(schema.GetFields()))
	for _, name := range allFieldNames(schema) {
		if _, dup := names[name]; dup {
			return errPlain("duplicated field name %s found", name)
		}
		names[name] = struct{}{}
	}
	return nil
}

func validatePrimaryKeyDef(schema *schemapb.CollectionSchema) error {
	idx := -1
	for i, f := range schema.GetFields() {
		if !f.GetIsPrimaryKey() {
			continue
		}
		if idx != -1 {
			return errPlain("there are more than one primary key, field name = %s, %s", schema.Fields[idx].GetName(), f.GetName())
		}
		if f.GetDataType() != schemapb.DataType_Int64 && f.GetDataType() != schemapb.DataType_VarChar {
			return errPlain("the data type of primary key should be Int64 or VarChar")
		}
		idx = i
	}
	if idx == -1 {
		return errPlain("primary key is not specified")
	}
	return nil
}

func validateAutoIDDef(schema *schemapb.CollectionSchema) error {
	idx := -1
	for i, f := range schema.GetFields() {
		if !f.GetAutoID() {
			continue
		}
		if idx != -1 {
			// Milvus's message, typo included.
			return errPlain("only one field can speficy AutoID with true, field name = %s, %s", schema.Fields[idx].GetName(), f.GetName())
		}
		idx = i
		if !f.GetIsPrimaryKey() {
			return errPlain("only primary field can speficy AutoID with true, field name = %s", f.GetName())
		}
	}
	return nil
}

func validateElementType(t schemapb.DataType) error {
	switch t {
	case schemapb.DataType_Bool, schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32,
		schemapb.DataType_Int64, schemapb.DataType_Float, schemapb.DataType_Double, schemapb.DataType_VarChar:
		return nil
	case schemapb.DataType_String:
		return errPlain("string data type not supported yet, please use VarChar type instead")
	case schemapb.DataType_None:
		return errPlain("element data type None is not valid")
	}
	return errPlain("element type %s is not supported", t)
}

func validatePartitionKeyDef(schema *schemapb.CollectionSchema) error {
	idx := -1
	for i, f := range schema.GetFields() {
		if !f.GetIsPartitionKey() {
			continue
		}
		if idx != -1 {
			return errPlain("there are more than one partition key, field name = %s, %s", schema.Fields[idx].GetName(), f.GetName())
		}
		if f.GetIsPrimaryKey() {
			return errPlain("the partition key field must not be primary field")
		}
		if f.GetNullable() {
			return errInvalidMsg("partition key field not support nullable")
		}
		if f.GetDataType() != schemapb.DataType_Int64 && f.GetDataType() != schemapb.DataType_VarChar {
			return errPlain("the data type of partition key should be Int64 or VarChar")
		}
		idx = i
	}
	return nil
}

// partitionKeyPartitions returns how many physical partitions a collection
// gets from CreateCollection's num_partitions, as Milvus decides: without a
// partition key only 0 is allowed (one "_default" partition, reported as
// 1); with one, 0 means 16 and at most 1024 are allowed.
func partitionKeyPartitions(schema *schemapb.CollectionSchema, numPartitions int64) (int64, error) {
	hasKey := false
	for _, f := range schema.GetFields() {
		if f.GetIsPartitionKey() {
			hasKey = true
		}
	}
	if !hasKey {
		if numPartitions != 0 {
			return 0, errPlain("num_partitions should only be specified with partition key field enabled")
		}
		return 1, nil
	}
	switch {
	case numPartitions < 0:
		return 0, errPlain("the specified partitions should be greater than 0 if partition key is used")
	case numPartitions > maxPartitionNum:
		return 0, errInvalidMsg("partition number (%d) exceeds max configuration (%d)", numPartitions, maxPartitionNum)
	case numPartitions == 0:
		return defaultPartitionsWithPartitionKey, nil
	}
	return numPartitions, nil
}

func validateClusteringKeyDef(schema *schemapb.CollectionSchema, allowVector bool) error {
	idx := -1
	for i, f := range schema.GetFields() {
		if !f.GetIsClusteringKey() {
			continue
		}
		switch f.GetDataType() {
		case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64,
			schemapb.DataType_Float, schemapb.DataType_Double, schemapb.DataType_VarChar:
		case schemapb.DataType_FloatVector:
			// Milvus 2.6 accepts it only with common.enableVectorClusteringKey
			// (default false); clustering compaction then runs k-means on
			// it (docs/vector-clustering.md).
			if !allowVector {
				return errWithField(errs.ErrCollectionVectorClusteringKeyNotAllowed, "collection", schema.GetName(), "")
			}
		default:
			return errWithField(errs.ErrCollectionIllegalSchema, "collection", schema.GetName(),
				"clustering key field "+f.GetName()+" has unsupported data type "+f.GetDataType().String())
		}
		if idx != -1 {
			return errWithField(errs.ErrCollectionIllegalSchema, "collection", schema.GetName(),
				"there are more than one clustering key, field name = "+schema.Fields[idx].GetName()+", "+f.GetName())
		}
		idx = i
	}
	return nil
}

// validateFieldDef is Milvus's ValidateField: name, vector dimension,
// VarChar max_length and Array max_capacity.
func validateFieldDef(f *schemapb.FieldSchema, schema *schemapb.CollectionSchema) error {
	if err := validateFieldName(f.GetName()); err != nil {
		return err
	}
	// typeutil.IsVectorType counts ArrayOfVector among the vectors.
	if column.IsVector(f.GetDataType()) || f.GetDataType() == schemapb.DataType_ArrayOfVector {
		if err := validateDimension(f); err != nil {
			return err
		}
	}
	if f.GetDataType() == schemapb.DataType_VarChar ||
		(f.GetDataType() == schemapb.DataType_Array && f.GetElementType() == schemapb.DataType_VarChar) {
		if err := validateMaxLengthDef(schema.GetName(), f); err != nil {
			return err
		}
	}
	if f.GetDataType() == schemapb.DataType_Array {
		if err := validateMaxCapacityDef(schema.GetName(), f); err != nil {
			return err
		}
	}
	if f.GetDataType() == schemapb.DataType_ArrayOfVector {
		return errPlain("array of vector can only be in the struct array field, field name: %s", f.GetName())
	}
	return nil
}

// typeParam returns the value of a field's type parameter key.
func typeParam(f *schemapb.FieldSchema, key string) (string, bool) {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}

// intTypeParam returns an integer type parameter (dim, max_length,
// max_capacity) of a validated schema, or 0.
func intTypeParam(f *schemapb.FieldSchema, key string) int {
	s, ok := typeParam(f, key)
	if !ok {
		for _, kv := range f.GetIndexParams() {
			if kv.GetKey() == key {
				s, ok = kv.GetValue(), true
			}
		}
	}
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return v
}

// fieldDim is the dimension of a fixed-width vector field of a validated schema.
func fieldDim(f *schemapb.FieldSchema) int { return intTypeParam(f, "dim") }

// fieldMaxLength is the max_length of a VarChar field (or Array of VarChar).
func fieldMaxLength(f *schemapb.FieldSchema) int { return intTypeParam(f, "max_length") }

// fieldMaxCapacity is the max_capacity of an Array field.
func fieldMaxCapacity(f *schemapb.FieldSchema) int { return intTypeParam(f, "max_capacity") }

func validateDimension(f *schemapb.FieldSchema) error {
	s, ok := typeParam(f, "dim")
	if f.GetDataType() == schemapb.DataType_SparseFloatVector {
		if ok {
			return errPlain("dim should not be specified for sparse vector field %s(%d)", f.GetName(), f.GetFieldID())
		}
		return nil
	}
	if !ok {
		return errPlain("dimension is not defined in field type params of field %s, check type param `dim` for vector field", f.GetName())
	}
	dim, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errPlain("%v", err)
	}
	if dim < minDimension {
		return errPlain("invalid dimension: %d. should be in range 2 ~ %d", dim, maxDimension)
	}
	if f.GetDataType() == schemapb.DataType_BinaryVector {
		if dim%8 != 0 {
			return errPlain("invalid dimension: %d of field %s. binary vector dimension should be multiple of 8. ", dim, f.GetName())
		}
		if dim > maxDimension*8 {
			return errPlain("invalid dimension: %d of field %s. binary vector dimension should be in range 2 ~ %d", dim, f.GetName(), maxDimension*8)
		}
		return nil
	}
	if dim > maxDimension {
		return errPlain("invalid dimension: %d of field %s. float vector dimension should be in range 2 ~ %d", dim, f.GetName(), maxDimension)
	}
	return nil
}

func validateMaxLengthDef(collection string, f *schemapb.FieldSchema) error {
	found := false
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() != "max_length" {
			continue
		}
		n, err := strconv.ParseInt(kv.GetValue(), 10, 64)
		if err != nil {
			return errPlain("%v", err)
		}
		if n <= 0 || n > maxVarCharLength {
			return errInvalidMsg("the maximum length specified for the field(%s) should be in (0, %d], but got %d instead", f.GetName(), maxVarCharLength, n)
		}
		found = true
	}
	if !found {
		return errPlain("type param(max_length) should be specified for the field(%s) of collection %s", f.GetName(), collection)
	}
	return nil
}

func validateMaxCapacityDef(collection string, f *schemapb.FieldSchema) error {
	found := false
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() != "max_capacity" {
			continue
		}
		n, err := strconv.ParseInt(kv.GetValue(), 10, 64)
		if err != nil {
			return errPlain("the value for max_capacity of field %s must be an integer", f.GetName())
		}
		if n <= 0 || n > maxArrayCapacity {
			return errPlain("the maximum capacity specified for a Array should be in (0, %d]", maxArrayCapacity)
		}
		found = true
	}
	if !found {
		return errPlain("type param(max_capacity) should be specified for array field %s of collection %s", f.GetName(), collection)
	}
	return nil
}

// validateSchemaRootCoord is the rootcoord half of Milvus's checks.
func validateSchemaRootCoord(collectionName string, schema *schemapb.CollectionSchema) error {
	if collectionName != schema.GetName() {
		return errInvalidValue("collection name matches schema name", "don't match",
			"collection name = "+collectionName+", schema.Name="+schema.GetName())
	}
	for _, f := range schema.GetFields() {
		if err := validateNullableAndDefault(f); err != nil {
			return err
		}
	}
	if err := validateStructArraysRootCoord(schema); err != nil {
		return err
	}
	for _, f := range schema.GetFields() {
		switch f.GetName() {
		case rowIDFieldName, timestampFieldName, metaFieldName:
			return errInvalidValue("schema don't contains system field", "contains",
				"schema contains system field: "+rowIDFieldName+", "+timestampFieldName+", "+metaFieldName)
		}
	}
	for _, f := range schema.GetFields() {
		if !supportedFieldType(f.GetDataType()) {
			return errInvalidValue("valid field", "field data type: "+f.GetDataType().String()+" is not supported", "")
		}
	}
	return nil
}

// supportedFieldType reports whether a top-level field may have type t.
func supportedFieldType(t schemapb.DataType) bool {
	if t == schemapb.DataType_None || t == schemapb.DataType_ArrayOfVector ||
		t == schemapb.DataType_ArrayOfStruct || t == schemapb.DataType_Struct {
		return false
	}
	_, err := column.New(t, 8, schemapb.DataType_Int64)
	return err == nil
}

// validateNullableAndDefault is Milvus 2.6 rootcoord's checkFieldSchema:
// nullable and default_value against the field type. Every vector type may
// be nullable (a null vector is stored, returned as null and never
// searched); no vector, Array or non-dynamic JSON field may have a default.
func validateNullableAndDefault(f *schemapb.FieldSchema) error {
	t := f.GetDataType()
	if f.GetIsPrimaryKey() && f.GetNullable() {
		return errInvalidMsg("primary field not support null, type:%s, name:%s", t, f.GetName())
	}
	dv := f.GetDefaultValue()
	if dv == nil {
		return nil
	}
	if f.GetIsPrimaryKey() {
		return errInvalidMsg("primary field not support default_value, type:%s, name:%s", t, f.GetName())
	}
	if t == schemapb.DataType_Array || column.IsVector(t) || (t == schemapb.DataType_JSON && !f.GetIsDynamic()) {
		return errInvalidMsg("type not support default_value, type:%s, name:%s", t, f.GetName())
	}
	mismatch := func(defaultType string) error {
		return errInvalidMsg("type (%s) of field (%s) is not equal to the type(%s) of default_value", t, f.GetName(), defaultType)
	}
	switch d := dv.GetData().(type) {
	case *schemapb.ValueField_BoolData:
		if t != schemapb.DataType_Bool {
			return mismatch("DataType_Bool")
		}
	case *schemapb.ValueField_IntData:
		if t != schemapb.DataType_Int32 && t != schemapb.DataType_Int16 && t != schemapb.DataType_Int8 {
			return mismatch("DataType_Int")
		}
		if t == schemapb.DataType_Int16 && (d.IntData > math.MaxInt16 || d.IntData < math.MinInt16) {
			return errInvalidRange(math.MinInt16, math.MaxInt16, d.IntData, "default value out of range")
		}
		if t == schemapb.DataType_Int8 && (d.IntData > math.MaxInt8 || d.IntData < math.MinInt8) {
			return errInvalidRange(math.MinInt8, math.MaxInt8, d.IntData, "default value out of range")
		}
	case *schemapb.ValueField_LongData:
		if t != schemapb.DataType_Int64 {
			return mismatch("DataType_Int64")
		}
	case *schemapb.ValueField_FloatData:
		if t != schemapb.DataType_Float {
			return mismatch("DataType_Float")
		}
	case *schemapb.ValueField_DoubleData:
		if t != schemapb.DataType_Double {
			return mismatch("DataType_Double")
		}
	case *schemapb.ValueField_TimestamptzData:
		if t != schemapb.DataType_Timestamptz {
			return mismatch("DataType_Timestamptz")
		}
	case *schemapb.ValueField_StringData:
		if t != schemapb.DataType_VarChar && t != schemapb.DataType_Text && t != schemapb.DataType_Timestamptz && t != schemapb.DataType_Geometry {
			return mismatch("DataType_VarChar")
		}
		if t == schemapb.DataType_VarChar {
			if n, limit := len(d.StringData), fieldMaxLength(f); n > limit {
				return errInvalidValue("valid length string", "string length exceeds max length",
					"the length ("+strconv.Itoa(n)+") of string exceeds max length ("+strconv.Itoa(limit)+")")
			}
		}
	case *schemapb.ValueField_BytesData:
		if t != schemapb.DataType_JSON {
			return mismatch("DataType_SJON") // sic, Milvus's text
		}
		var obj map[string]any
		if err := json.Unmarshal(d.BytesData, &obj); err != nil {
			return errInvalidMsg("%s", err.Error())
		}
	default:
		return errInvalidValue("valid default value", "empty", "default value type mismatches field schema type")
	}
	return nil
}

// Schema lookups shared by the proxy's request handlers.

// primaryField returns the primary key field of a schema, or nil.
func primaryField(schema *schemapb.CollectionSchema) *schemapb.FieldSchema {
	for _, f := range schema.GetFields() {
		if f.GetIsPrimaryKey() {
			return f
		}
	}
	return nil
}

// dynamicField returns the "$meta" field of a schema, or nil.
func dynamicField(schema *schemapb.CollectionSchema) *schemapb.FieldSchema {
	for _, f := range schema.GetFields() {
		if f.GetIsDynamic() {
			return f
		}
	}
	return nil
}

// fieldByName returns the field called name, or nil.
func fieldByName(schema *schemapb.CollectionSchema, name string) *schemapb.FieldSchema {
	for _, f := range schema.GetFields() {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// fieldByID returns the field with an ID, or nil.
func fieldByID(schema *schemapb.CollectionSchema, id int64) *schemapb.FieldSchema {
	for _, f := range schema.GetFields() {
		if f.GetFieldID() == id {
			return f
		}
	}
	return nil
}
