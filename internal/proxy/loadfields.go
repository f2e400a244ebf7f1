package proxy

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// checkLoadFields is Milvus 2.6's schemaInfo.GetLoadFieldIDs with
// validateLoadFields: a load request naming its fields must name the
// primary key, a vector field, the partition key and the clustering key.
// Milvus runs it before it looks for indexes. Milvago then loads every
// field; the list only decides whether the request is valid.
func checkLoadFields(schema *schemapb.CollectionSchema, names []string, skipDynamic bool) error {
	if len(names) == 0 {
		return nil
	}
	var fields []*schemapb.FieldSchema
	for _, name := range names {
		if sf := structArrayByName(schema, name); sf != nil {
			fields = append(fields, sf.GetFields()...)
			continue
		}
		f := loadFieldByName(schema, name)
		if f == nil {
			return errPlain("failed to get field schema by name: fieldName(%s) not found", name)
		}
		fields = append(fields, f)
	}
	if !skipDynamic {
		for _, f := range schema.GetFields() {
			if f.GetIsDynamic() {
				fields = append(fields, f)
			}
		}
	}
	var pk, vector, partKey, clusterKey bool
	for _, f := range fields {
		pk = pk || f.GetIsPrimaryKey()
		vector = vector || column.IsVector(f.GetDataType())
		partKey = partKey || f.GetIsPartitionKey()
		clusterKey = clusterKey || f.GetIsClusteringKey()
	}
	var pkField, partField, clusterField *schemapb.FieldSchema
	for _, f := range schema.GetFields() {
		switch {
		case f.GetIsPrimaryKey():
			pkField = f
		case f.GetIsPartitionKey():
			partField = f
		case f.GetIsClusteringKey():
			clusterField = f
		}
	}
	switch {
	case !pk:
		return errInvalidMsg("load field list %v does not contain primary key field %s", names, pkField.GetName())
	case !vector:
		return errInvalidMsg("load field list %v does not contain vector field", names)
	case partField != nil && !partKey:
		return errInvalidMsg("load field list %v does not contain partition key field %s", names, partField.GetName())
	case clusterField != nil && !clusterKey:
		return errInvalidMsg("load field list %v does not contain clustering key field %s", names, clusterField.GetName())
	}
	return nil
}

func structArrayByName(schema *schemapb.CollectionSchema, name string) *schemapb.StructArrayFieldSchema {
	for _, sf := range schema.GetStructArrayFields() {
		if sf.GetName() == name {
			return sf
		}
	}
	return nil
}

// loadFieldByName finds a field, or a struct array's sub-field, by name.
func loadFieldByName(schema *schemapb.CollectionSchema, name string) *schemapb.FieldSchema {
	for _, f := range schema.GetFields() {
		if f.GetName() == name {
			return f
		}
	}
	for _, sf := range schema.GetStructArrayFields() {
		for _, f := range sf.GetFields() {
			if f.GetName() == name {
				return f
			}
		}
	}
	return nil
}
