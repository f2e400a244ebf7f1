package proxy

import (
	"strings"
	"testing"
)

func TestNamesRules(t *testing.T) {
	long := "a" + strings.Repeat("b", 255)
	longest := "a" + strings.Repeat("b", 254)
	type check func(string) error
	f := func(name string, fn check, in string, code int32, fragment string) {
		t.Helper()
		err := fn(in)
		if code == 0 {
			if err != nil {
				t.Errorf("%s(%q): unexpected %v", name, in, err)
			}
			return
		}
		t.Run(name+"/"+in[:min(len(in), 20)], func(t *testing.T) { checkErr(t, err, code, fragment) })
	}

	coll := validateCollectionName
	f("collection", coll, "books", 0, "")
	f("collection", coll, "_b00ks", 0, "")
	f("collection", coll, " padded ", 0, "")
	f("collection", coll, longest, 0, "")
	f("collection", coll, "", 1100, "collection name should not be empty: invalid parameter")
	f("collection", coll, "  ", 1100, "collection name should not be empty")
	f("collection", coll, "1abc", 1100, "Invalid collection name: 1abc. the first character of a collection name must be an underscore or letter: invalid parameter")
	f("collection", coll, "a-b", 1100, "Invalid collection name: a-b. collection name can only contain numbers, letters and underscores: invalid parameter")
	f("collection", coll, "español", 1100, "Invalid collection name: español. collection name can only contain numbers, letters and underscores")
	f("collection", coll, "a$b", 1100, "can only contain numbers, letters and underscores")
	f("collection", coll, long, 1100, "the length of a collection name must be less than 255 characters: invalid parameter")
	f("alias", validateCollectionAlias, "1a", 1100, "Invalid collection alias: 1a. the first character of a collection alias must be an underscore or letter")
	f("alias spelled out", func(s string) error { return validateCollectionNameOrAlias(s, "collection name") }, "1a", 1100,
		"Invalid collection name: 1a. the first character of a collection name must be an underscore or letter")

	field := validateFieldName
	f("field", field, "vec_1", 0, "")
	f("field", field, "", 1701, "field name should not be empty: field name invalid[field=]")
	f("field", field, "1a", 1701, "Invalid field name: 1a. The first character of a field name must be an underscore or letter.: field name invalid[field=1a]")
	f("field", field, "a b", 1701, "Invalid field name: a b. Field name can only contain numbers, letters, and underscores.: field name invalid[field=a b]")
	f("field", field, long, 1701, "The length of a field name must be less than 255 characters.")
	f("field", field, "$meta", 1701, "The first character of a field name must be an underscore or letter.")
	f("field", field, "and", 1701, "Invalid field name: and. and is keyword in milvus.: field name invalid[field=and]")
	f("field", field, "TRUE", 1701, "TRUE is keyword in milvus.")
	f("field", field, "And", 0, "")

	part := validatePartitionName
	f("partition", part, "_default", 0, "")
	f("partition", part, "2024-01", 0, "")
	f("partition", part, "p-1_x", 0, "")
	f("partition", part, "", 65535, "Invalid partition name: . Partition name should not be empty.")
	f("partition", part, "-p", 65535, "Invalid partition name: -p. The first character of a partition name must be an underscore or letter.")
	f("partition", part, "p q", 65535, "Invalid partition name: p q. Partition name can only contain numbers, letters and underscores.")
	f("partition", part, long, 65535, "The length of a partition name must be less than 255 characters.")

	read := validatePartitionNameForRead
	f("partition read", read, "-odd name", 0, "")
	f("partition read", read, " ", 65535, "Invalid partition name: . Partition name should not be empty.")
	f("partition read", read, long, 65535, "The length of a partition name must be less than 255 characters.")

	db := validateDatabaseName
	f("database", db, "default", 0, "")
	f("database", db, "", 802, "database name couldn't be empty: invalid database name[database=]")
	f("database", db, "9db", 802, "the first character of a database name must be an underscore or letter: invalid database name[database=9db]")
	f("database", db, "d-b", 802, "database name can only contain numbers, letters and underscores: invalid database name[database=d-b]")
	f("database", db, long, 802, "the length of a database name must be less than 255 characters")

	idx := validateIndexName
	f("index", idx, "", 0, "")
	f("index", idx, "vec_idx", 0, "")
	f("index", idx, "1idx", 65535, "Invalid index name: 1idx. The first character of a index name must be an underscore or letter.")
	f("index", idx, "i-x", 65535, "Invalid index name: i-x. Index name can only contain numbers, letters, and underscores.")
	f("index", idx, long, 65535, "The length of a index name must be less than 255 characters.")
}

func TestNamesErrorShapes(t *testing.T) {
	checkErr(t, errInvalidValue(4, 8, "dim"), 1100, "dim: invalid parameter[expected=4][actual=8]")
	checkErr(t, errInvalidValue(4, 8, ""), 1100, "invalid parameter[expected=4][actual=8]")
	if got := errInvalidValue(4, 8, "").Error(); got != "invalid parameter[expected=4][actual=8]" {
		t.Errorf("no reason: %q", got)
	}
	checkErr(t, errInvalidRange(-128, 127, 300, "out"), 1100, "out: invalid parameter[300 out of range -128 <= value <= 127]")
	checkErr(t, errPlain("x %d", 1), 65535, "x 1")
	if err := checkRequestSize(64<<20, 64<<20); err != nil {
		t.Error(err)
	}
	checkErr(t, checkRequestSize(64<<20+1, 64<<20), 1102, "parameter too large[message=insert request size exceeds maxInsertSize]")
	if got := errPlain("exact").Error(); got != "exact" {
		t.Errorf("plain error text %q", got)
	}
}
