package rootcoord

import (
	"cmp"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

// sameSchema reports whether two collection schemas are the same, taking
// key-value parameters (a field's type and index parameters, a function's
// parameters) as sets: the SDKs build them from maps, so a client that
// sends one schema twice may send them in another order.
func sameSchema(a, b *schemapb.CollectionSchema) bool {
	return proto.Equal(canonicalSchema(a), canonicalSchema(b))
}

func canonicalSchema(s *schemapb.CollectionSchema) *schemapb.CollectionSchema {
	c := proto.Clone(s).(*schemapb.CollectionSchema)
	canonicalFields(c.GetFields())
	for _, st := range c.GetStructArrayFields() {
		sortParams(st.GetTypeParams())
		canonicalFields(st.GetFields())
	}
	for _, f := range c.GetFunctions() {
		sortParams(f.GetParams())
	}
	return c
}

func canonicalFields(fields []*schemapb.FieldSchema) {
	for _, f := range fields {
		sortParams(f.GetTypeParams())
		sortParams(f.GetIndexParams())
	}
}

func sortParams(kvs []*commonpb.KeyValuePair) {
	slices.SortStableFunc(kvs, func(x, y *commonpb.KeyValuePair) int { return cmp.Compare(x.GetKey(), y.GetKey()) })
}
