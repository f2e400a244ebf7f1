package proxy

import (
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bm25"
)

// isCountQuery reports whether a Query's output fields ask for a count: a
// single "count(*)" (any case, surrounding spaces ignored), as Milvus's
// matchCountRule. resolveOutputFields does not accept "count(*)": the caller
// checks this first, runs a count, and reports the output field "count(*)".
func isCountQuery(outputFields []string) bool {
	return len(outputFields) == 1 && strings.ToLower(strings.TrimSpace(outputFields[0])) == countStar
}

// resolveOutputFields turns a Query's or Search's output_fields into what
// to read and what to report, as Milvus 2.6's translateOutputFields does:
//
//   - "*" stands for every field of the schema, vectors and "$meta" included;
//   - a schema field (including "$meta", the whole dynamic field) is read as is;
//   - any other name is a key of the dynamic field when the collection has
//     one (it must be a plain identifier), else "field <name> not exist";
//   - a Query always returns the primary key; a Search returns it among the
//     fields only when asked for by name or "*" (its hits carry the IDs anyway).
//
// fieldIDs lists the fields to read, in request order ("*" in schema order),
// without duplicates. dynamicKeys are the keys to keep of "$meta" (see
// projectDynamic); it is nil when "$meta" must be returned whole. userNames
// are the output field names to echo to the client (QueryResults.OutputFields).
func resolveOutputFields(schema *schemapb.CollectionSchema, requested []string, forSearch bool) (fieldIDs []int64, dynamicKeys []string, userNames []string, err error) {
	pk := primaryField(schema)
	dyn := dynamicField(schema)
	seenID := map[int64]bool{}
	seenName := map[string]bool{}
	addField := func(f *schemapb.FieldSchema) {
		if !seenID[f.GetFieldID()] {
			seenID[f.GetFieldID()] = true
			fieldIDs = append(fieldIDs, f.GetFieldID())
		}
	}
	addName := func(name string) {
		if !seenName[name] {
			seenName[name] = true
			userNames = append(userNames, name)
		}
	}
	wholeMeta := false
	subs := structSubFields(schema)
	for _, name := range requested {
		name = strings.TrimSpace(name)
		if name == "*" {
			for _, f := range schema.GetFields() {
				if bm25.IsOutput(schema, f.GetFieldID()) {
					continue // schema.CanRetrieveRawFieldData
				}
				addField(f)
				if sf, sub := subs[f.GetFieldID()]; sub {
					addName(sf.GetName()) // a struct array is named once, whole
				} else {
					addName(f.GetName())
				}
			}
			wholeMeta = true
			continue
		}
		if sf := structFieldByName(schema, name); sf != nil {
			for _, f := range sf.GetFields() {
				addField(f)
			}
			addName(name)
			continue
		}
		if f := fieldByName(schema, name); f != nil {
			if bm25.IsOutput(schema, f.GetFieldID()) {
				return nil, nil, nil, errPlain("not allowed to retrieve raw data of field %s", name)
			}
			addField(f)
			addName(name)
			if f.GetIsDynamic() {
				wholeMeta = true
			}
			continue
		}
		if dyn == nil || !schema.GetEnableDynamicField() {
			return nil, nil, nil, errPlain("field %s not exist", name)
		}
		if !isIdentifier(name) {
			return nil, nil, nil, errPlain("parse output field name failed: %s", name)
		}
		addField(dyn)
		addName(name)
		if !seenName["\x00key:"+name] {
			seenName["\x00key:"+name] = true
			dynamicKeys = append(dynamicKeys, name)
		}
	}
	if !forSearch && pk != nil {
		addField(pk)
	}
	if wholeMeta {
		dynamicKeys = nil
	}
	return fieldIDs, dynamicKeys, userNames, nil
}

// isIdentifier reports whether s is an identifier of Milvus's expression
// language, the only dynamic keys Milvus lets a user select.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || isAlpha(c) || (i > 0 && isNumber(c)) {
			continue
		}
		return false
	}
	if _, kw := fieldNameKeywords[s]; kw {
		return false
	}
	return true
}
