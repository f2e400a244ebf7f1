package proxy

import (
	"fmt"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// Struct array fields (Milvus 2.6's CollectionSchema.struct_array_fields):
// an Array of Struct whose sub-fields are scalar arrays (DataType Array)
// and embedding lists (DataType ArrayOfVector). As in Milvus, a sub-field
// is named "struct[sub]" inside the server and gets its own field ID, so
// the engine stores and searches it as an ordinary column: the stored
// schema lists each sub-field twice, in StructArrayFields (for describe)
// and, flattened, in Fields (for every component below the proxy). The
// public answers (describe, query and search results) fold them back.

// structSubFieldName is Milvus's typeutil.ConcatStructFieldName.
func structSubFieldName(structName, field string) string { return structName + "[" + field + "]" }

// validateStructArraysProxy is the proxy's part of Milvus 2.6's checks of
// struct array fields (createCollectionTask.PreExecute, ValidateStructArrayField,
// ValidateFieldsInStruct), run after the checks of the ordinary fields.
func validateStructArraysProxy(schema *schemapb.CollectionSchema) error {
	for _, sf := range schema.GetStructArrayFields() {
		if len(sf.GetFields()) == 0 {
			return errPlain("struct array field %s has no sub-fields", sf.GetName())
		}
		for _, f := range sf.GetFields() {
			if err := validateFieldInStruct(f, schema); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateFieldInStruct(f *schemapb.FieldSchema, schema *schemapb.CollectionSchema) error {
	if err := validateFieldName(f.GetName()); err != nil {
		return err
	}
	if f.GetDataType() != schemapb.DataType_Array && f.GetDataType() != schemapb.DataType_ArrayOfVector {
		return errPlain("fields in StructArrayField can only be array or array of struct, but field %s is %s", f.GetName(), f.GetDataType())
	}
	switch f.GetElementType() {
	case schemapb.DataType_ArrayOfStruct, schemapb.DataType_ArrayOfVector, schemapb.DataType_Array:
		return errPlain("nested array is not supported %s", f.GetName())
	}
	if f.GetDataType() == schemapb.DataType_Array {
		if err := validateElementType(f.GetElementType()); err != nil {
			return err
		}
	} else {
		if f.GetElementType() != schemapb.DataType_FloatVector {
			return errPlain("unsupported element type of array field %s, now only float vector is supported", f.GetName())
		}
		if err := validateDimension(f); err != nil {
			return err
		}
	}
	if f.GetElementType() == schemapb.DataType_VarChar {
		if err := validateMaxLengthDef(schema.GetName(), f); err != nil {
			return err
		}
	}
	if f.GetNullable() {
		return errPlain("nullable is not supported for fields in struct array now, fieldName = %s", f.GetName())
	}
	return nil
}

// structKeyChecks are the struct-field halves of Milvus's primary key,
// auto ID, partition key and clustering key checks, in that order.
func structKeyChecks(schema *schemapb.CollectionSchema, collection string) error {
	sub := func(fn func(f *schemapb.FieldSchema) error) error {
		for _, sf := range schema.GetStructArrayFields() {
			for _, f := range sf.GetFields() {
				if err := fn(f); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return sub(func(f *schemapb.FieldSchema) error {
		switch {
		case f.GetIsPrimaryKey():
			return errPlain("primary key is not supported for struct field, field name = %s", f.GetName())
		case f.GetAutoID():
			return errPlain("autoID is not supported for struct field, field name = %s", f.GetName())
		case f.GetIsPartitionKey():
			return errWithField(errs.ErrCollectionIllegalSchema, "collection", collection, "partition key is not supported for struct field, field name = "+f.GetName())
		case f.GetIsClusteringKey():
			return errWithField(errs.ErrCollectionIllegalSchema, "collection", collection, "clustering key is not supported for struct field, field name = "+f.GetName())
		}
		return nil
	})
}

// validateStructArraysRootCoord is rootcoord's checkStructArrayFieldSchema.
func validateStructArraysRootCoord(schema *schemapb.CollectionSchema) error {
	for _, sf := range schema.GetStructArrayFields() {
		if len(sf.GetFields()) == 0 {
			return errInvalidMsg("empty fields in StructArrayField is not allowed")
		}
		for _, f := range sf.GetFields() {
			if f.GetDataType() != schemapb.DataType_Array && f.GetDataType() != schemapb.DataType_ArrayOfVector {
				return errInvalidMsg("fields in StructArrayField can only be array or array of vector, but field %s is %s", f.GetName(), f.GetDataType())
			}
			if f.GetDataType() == schemapb.DataType_ArrayOfVector && f.GetNullable() {
				return errInvalidMsg("ArrayOfVector does not support nullable, structName=%s, fieldName=%s", sf.GetName(), f.GetName())
			}
			if f.GetIsPartitionKey() || f.GetIsPrimaryKey() {
				return errInvalidMsg("partition key or primary key can not be in struct array field. data type:%s, element type:%s, name:%s", f.GetDataType(), f.GetElementType(), f.GetName())
			}
			if f.GetDefaultValue() != nil {
				return errInvalidMsg("fields in struct array field not support default_value, data type:%s, element type:%s, name:%s", f.GetDataType(), f.GetElementType(), f.GetName())
			}
			if err := dupKeys(f.GetTypeParams(), "type"); err != nil {
				return err
			}
			if err := dupKeys(f.GetIndexParams(), "index"); err != nil {
				return err
			}
		}
		if err := structMaxCapacity(sf); err != nil {
			return err
		}
	}
	return nil
}

// dupKeys is rootcoord's checkDupKvPairs.
func dupKeys(kvs []*commonpb.KeyValuePair, kind string) error {
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if seen[kv.GetKey()] {
			return errInvalidMsg("duplicated %s param key \"%s\"", kind, kv.GetKey())
		}
		seen[kv.GetKey()] = true
	}
	return nil
}

// structMaxCapacity is rootcoord's checkStructArrayFieldMaxCapacity: every
// sub-field declares the same max_capacity, in (0, 4096].
func structMaxCapacity(sf *schemapb.StructArrayFieldSchema) error {
	var want int64
	for i, f := range sf.GetFields() {
		s, ok := typeParam(f, "max_capacity")
		if !ok {
			return errInvalidMsg("type param(max_capacity) should be specified for field %s in struct array field %s", f.GetName(), sf.GetName())
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errInvalidMsg("the value for max_capacity of field %s in struct array field %s must be an integer", f.GetName(), sf.GetName())
		}
		if n <= 0 || n > maxArrayCapacity {
			return errInvalidMsg("the maximum capacity specified for a Array should be in (0, %d]", maxArrayCapacity)
		}
		if i == 0 {
			want = n
		} else if n != want {
			return errInvalidMsg("all sub-fields in struct array field must have the same max_capacity: structName=%s, subFieldName=%s, max_capacity=%d, expected=%d", sf.GetName(), f.GetName(), n, want)
		}
	}
	return nil
}

// flattenStructArrays renames each sub-field "struct[sub]", assigns field
// IDs after the ordinary fields (the struct first, then its sub-fields, as
// Milvus's assignFieldAndFunctionID) and appends a copy of each sub-field
// to schema.Fields.
func flattenStructArrays(schema *schemapb.CollectionSchema) {
	next := int64(startOfUserFieldID + len(schema.GetFields()))
	for _, sf := range schema.GetStructArrayFields() {
		sf.FieldID = next
		next++
		for _, f := range sf.GetFields() {
			f.Name = structSubFieldName(sf.GetName(), f.GetName())
			f.FieldID = next
			next++
		}
	}
	for _, sf := range schema.GetStructArrayFields() {
		for _, f := range sf.GetFields() {
			schema.Fields = append(schema.Fields, proto.Clone(f).(*schemapb.FieldSchema))
		}
	}
}

// structSubFields maps each flattened sub-field's ID to its struct field.
func structSubFields(schema *schemapb.CollectionSchema) map[int64]*schemapb.StructArrayFieldSchema {
	if len(schema.GetStructArrayFields()) == 0 {
		return nil
	}
	out := map[int64]*schemapb.StructArrayFieldSchema{}
	for _, sf := range schema.GetStructArrayFields() {
		for _, f := range sf.GetFields() {
			out[f.GetFieldID()] = sf
		}
	}
	return out
}

// structFieldByName is the struct array field named name, or nil.
func structFieldByName(schema *schemapb.CollectionSchema, name string) *schemapb.StructArrayFieldSchema {
	for _, sf := range schema.GetStructArrayFields() {
		if sf.GetName() == name {
			return sf
		}
	}
	return nil
}

// publicStructArrays is the schema's struct array fields as Milvus's
// DescribeCollection returns them: sub-fields under their own names.
func publicStructArrays(schema *schemapb.CollectionSchema) []*schemapb.StructArrayFieldSchema {
	out := make([]*schemapb.StructArrayFieldSchema, 0, len(schema.GetStructArrayFields()))
	for _, sf := range schema.GetStructArrayFields() {
		c := proto.Clone(sf).(*schemapb.StructArrayFieldSchema)
		prefix := sf.GetName() + "["
		for _, f := range c.GetFields() {
			if strings.HasPrefix(f.GetName(), prefix) && strings.HasSuffix(f.GetName(), "]") {
				f.Name = f.GetName()[len(prefix) : len(f.GetName())-1]
			}
		}
		out = append(out, c)
	}
	return out
}

// publicFields is the schema's fields without the flattened struct
// sub-fields (and without "$meta" when hideDynamic).
func publicFields(schema *schemapb.CollectionSchema, hideDynamic bool) []*schemapb.FieldSchema {
	subs := structSubFields(schema)
	out := make([]*schemapb.FieldSchema, 0, len(schema.GetFields()))
	for _, f := range schema.GetFields() {
		if _, sub := subs[f.GetFieldID()]; sub || (hideDynamic && f.GetIsDynamic()) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// foldStructArrays replaces the flattened sub-fields' FieldData in a
// result by one ArrayOfStruct FieldData per struct field, at the place of
// its first sub-field, holding its sub-fields under their own names.
func foldStructArrays(schema *schemapb.CollectionSchema, fds []*schemapb.FieldData) []*schemapb.FieldData {
	subs := structSubFields(schema)
	if subs == nil {
		return fds
	}
	out := make([]*schemapb.FieldData, 0, len(fds))
	folded := map[int64]*schemapb.FieldData{}
	for _, fd := range fds {
		sf, ok := subs[fd.GetFieldId()]
		if !ok {
			out = append(out, fd)
			continue
		}
		st := folded[sf.GetFieldID()]
		if st == nil {
			st = &schemapb.FieldData{Type: schemapb.DataType_ArrayOfStruct, FieldName: sf.GetName(), FieldId: sf.GetFieldID(),
				Field: &schemapb.FieldData_StructArrays{StructArrays: &schemapb.StructArrayField{}}}
			folded[sf.GetFieldID()] = st
			out = append(out, st)
		}
		fd.FieldName = strings.TrimSuffix(strings.TrimPrefix(fd.GetFieldName(), sf.GetName()+"["), "]")
		st.GetStructArrays().Fields = append(st.GetStructArrays().Fields, fd)
	}
	return out
}

// totalFieldNum is Milvus's typeutil.GetTotalFieldsNum: the fields, plus
// each struct array field and its sub-fields.
func totalFieldNum(schema *schemapb.CollectionSchema) int {
	n := len(schema.GetFields())
	for _, sf := range schema.GetStructArrayFields() {
		n += len(sf.GetFields()) + 1
	}
	return n
}

// allFieldSchemas is the fields and the struct array sub-fields of a schema
// not yet flattened.
func allFieldSchemas(schema *schemapb.CollectionSchema) []*schemapb.FieldSchema {
	all := append([]*schemapb.FieldSchema(nil), schema.GetFields()...)
	for _, sf := range schema.GetStructArrayFields() {
		all = append(all, sf.GetFields()...)
	}
	return all
}

// allFieldNames is what Milvus's validateDuplicatedFieldName compares: the
// fields, each struct array field and its sub-fields as "struct[sub]".
func allFieldNames(schema *schemapb.CollectionSchema) []string {
	var names []string
	for _, f := range schema.GetFields() {
		names = append(names, f.GetName())
	}
	for _, sf := range schema.GetStructArrayFields() {
		names = append(names, sf.GetName())
		for _, f := range sf.GetFields() {
			names = append(names, structSubFieldName(sf.GetName(), f.GetName()))
		}
	}
	return names
}

// flattenStructInput is Milvus's checkAndFlattenStructFieldData: each
// struct array FieldData of a write is replaced by its sub-fields, named
// "struct[sub]", after checking that it has the schema's sub-fields and
// that, row by row, every sub-field holds as many elements.
func flattenStructInput(schema *schemapb.CollectionSchema, fields []*schemapb.FieldData) ([]*schemapb.FieldData, error) {
	if len(schema.GetStructArrayFields()) == 0 {
		return fields, nil
	}
	out := make([]*schemapb.FieldData, 0, len(fields)+4)
	for _, fd := range fields {
		sf := structFieldByName(schema, fd.GetFieldName())
		if sf == nil {
			out = append(out, fd)
			continue
		}
		sa := fd.GetStructArrays()
		if sa == nil {
			return nil, errPlain("field convert FieldData_StructArrays fail in fieldData, fieldName: %s, collectionName:%s", sf.GetName(), schema.GetName())
		}
		if len(sa.GetFields()) != len(sf.GetFields()) {
			return nil, errPlain("length of fields of struct field mismatch length of the fields in schema, fieldName: %s, collectionName:%s, fieldData fields length:%d, schema fields length:%d",
				sf.GetName(), schema.GetName(), len(sa.GetFields()), len(sf.GetFields()))
		}
		var rows []int // elements per row, from the first sub-field
		for i, sub := range sa.GetFields() {
			var counts []int
			switch {
			case sub.GetScalars().GetArrayData() != nil:
				for _, r := range sub.GetScalars().GetArrayData().GetData() {
					counts = append(counts, max(column.ScalarLen(r), 0))
				}
			case sub.GetVectors().GetVectorArray() != nil:
				va := sub.GetVectors().GetVectorArray()
				for _, r := range va.GetData() {
					dim := int(r.GetDim())
					if dim == 0 {
						dim = int(va.GetDim())
					}
					n, err := embListRowLen(r, va.GetElementType(), dim)
					if err != nil {
						return nil, errInvalidMsg("struct field '%s', sub-field '%s': %v", sf.GetName(), sub.GetFieldName(), err)
					}
					counts = append(counts, n)
				}
			default:
				return nil, errPlain("unexpected field data type in struct array field, fieldName: %s", sf.GetName())
			}
			if i == 0 {
				rows = counts
			} else if len(counts) != len(rows) {
				return nil, errPlain("inconsistent array length in struct field '%s': expected %d, got %d for sub-field '%s'", sf.GetName(), len(rows), len(counts), sub.GetFieldName())
			} else {
				for r := range counts {
					if counts[r] != rows[r] {
						return nil, errInvalidMsg("inconsistent element count in row %d of struct field '%s': expected %d, got %d for sub-field '%s'", r, sf.GetName(), rows[r], counts[r], sub.GetFieldName())
					}
				}
			}
			out = append(out, &schemapb.FieldData{
				Type: sub.GetType(), FieldName: structSubFieldName(sf.GetName(), sub.GetFieldName()),
				Field: sub.GetField(), ValidData: sub.GetValidData(),
			})
		}
	}
	return out, nil
}

func embListRowLen(v *schemapb.VectorField, elem schemapb.DataType, dim int) (int, error) {
	return column.EmbListLen(v, elem, dim)
}

// validateVectorArrayPayload checks an ArrayOfVector (embedding list)
// column of a write: vectors of the field's element type and dim, finite
// floats, at most max_capacity vectors a row.
func validateVectorArrayPayload(fd *schemapb.FieldData, f *schemapb.FieldSchema) error {
	va := fd.GetVectors().GetVectorArray()
	if va == nil {
		return arrayMismatch("need vector array", "vector array field", fd)
	}
	if va.GetElementType() != f.GetElementType() {
		return errInvalidMsg("element type of vector array field %s mismatch, expected %s, got %s", f.GetName(), f.GetElementType(), va.GetElementType())
	}
	dim := fieldDim(f)
	capacity := fieldMaxCapacity(f)
	for i, r := range va.GetData() {
		if d := int(r.GetDim()); d != 0 && d != dim {
			return errInvalidValue(dim, d, fmt.Sprintf("the dim (%d) of field data(%s) is not equal to schema dim (%d)", d, f.GetName(), dim))
		}
		n, err := column.EmbListLen(r, f.GetElementType(), dim)
		if err != nil {
			return errInvalidMsg("field %s, row %d: %v", f.GetName(), i, err)
		}
		if capacity > 0 && n > capacity {
			return errInvalidMsg("the length (%d) of %dth vector array of field (%s) exceeds max capacity (%d)", n, i, f.GetName(), capacity)
		}
		if err := verifyFloats(r.GetFloatVector().GetData()); err != nil {
			return err
		}
	}
	return nil
}

// checkAddedStructField refuses a struct array field in AddCollectionField,
// as Milvus 2.6 does: its request carries one FieldSchema, the root
// coordinator's checkFieldSchema refuses an ArrayOfStruct one (an
// ArrayOfVector one is refused before, by validateFieldDef, as Milvus's
// proxy ValidateField refuses it), and an Array of Struct (the Go SDK's form of a struct field) fails
// the element type check Milvus applies to Array fields at create
// (validateElementType). Struct fields exist only from CreateCollection.
func checkAddedStructField(f *schemapb.FieldSchema) error {
	switch f.GetDataType() {
	case schemapb.DataType_ArrayOfStruct:
		return fmt.Errorf("failed to check field schema: %w",
			errInvalidMsg("Invalid field type, type:%s, name:%s", f.GetDataType(), f.GetName()))
	case schemapb.DataType_ArrayOfVector:
		return fmt.Errorf("failed to check field schema: %w",
			errInvalidMsg("ArrayOfVector is only supported in struct array field, type:%s, name:%s", f.GetDataType(), f.GetName()))
	case schemapb.DataType_Array:
		if e := f.GetElementType(); e == schemapb.DataType_ArrayOfStruct || e == schemapb.DataType_Struct {
			return validateElementType(e)
		}
	}
	return nil
}
