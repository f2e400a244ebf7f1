package proxy

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

func TestOutputFieldsResolve(t *testing.T) {
	dyn := insertSchema(t, nil) // id 100, title 101, vec 102, $meta 103
	static := testSchema("c")
	static, _, _ = decodeCreateCollectionSchema("c", mustMarshal(t, static), 1)

	f := func(s *schemapb.CollectionSchema, requested []string, forSearch bool, ids []int64, keys, names []string) {
		t.Helper()
		gotIDs, gotKeys, gotNames, err := resolveOutputFields(s, requested, forSearch)
		if err != nil {
			t.Errorf("%v: %v", requested, err)
			return
		}
		if !reflect.DeepEqual(gotIDs, ids) || !reflect.DeepEqual(gotKeys, keys) || !reflect.DeepEqual(gotNames, names) {
			t.Errorf("%v (search %v): got %v %v %v, want %v %v %v", requested, forSearch, gotIDs, gotKeys, gotNames, ids, keys, names)
		}
	}
	f(dyn, nil, false, []int64{100}, nil, nil)
	f(dyn, nil, true, nil, nil, nil)
	f(dyn, []string{"title"}, false, []int64{101, 100}, nil, []string{"title"})
	f(dyn, []string{"title"}, true, []int64{101}, nil, []string{"title"})
	f(dyn, []string{"id", " title "}, true, []int64{100, 101}, nil, []string{"id", "title"})
	f(dyn, []string{"*"}, false, []int64{100, 101, 102, 103}, nil, []string{"id", "title", "vec", "$meta"})
	f(dyn, []string{"*"}, true, []int64{100, 101, 102, 103}, nil, []string{"id", "title", "vec", "$meta"})
	f(dyn, []string{"*", "title", "color"}, false, []int64{100, 101, 102, 103}, nil, []string{"id", "title", "vec", "$meta", "color"})
	f(dyn, []string{"color", "size", "color"}, false, []int64{103, 100}, []string{"color", "size"}, []string{"color", "size"})
	f(dyn, []string{"$meta"}, true, []int64{103}, nil, []string{"$meta"})
	f(dyn, []string{"color", "$meta"}, true, []int64{103}, nil, []string{"color", "$meta"})
	f(dyn, []string{"vec"}, true, []int64{102}, nil, []string{"vec"})
	f(static, []string{"*"}, true, []int64{100, 101, 102}, nil, []string{"id", "title", "vec"})

	bad := func(s *schemapb.CollectionSchema, requested []string, fragment string) {
		t.Helper()
		_, _, _, err := resolveOutputFields(s, requested, false)
		checkErr(t, err, 65535, fragment)
	}
	bad(static, []string{"color"}, "field color not exist")
	bad(static, []string{"count(*)"}, "field count(*) not exist")
	bad(dyn, []string{"a-b"}, "parse output field name failed: a-b")
	bad(dyn, []string{`a["b"]`}, `parse output field name failed: a["b"]`)
	bad(dyn, []string{"count(*)", "title"}, "parse output field name failed: count(*)")
}

func TestOutputFieldsCount(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want bool
	}{
		{[]string{"count(*)"}, true},
		{[]string{" COUNT(*) "}, true},
		{[]string{"count(*)", "id"}, false},
		{nil, false},
		{[]string{"count"}, false},
	} {
		if got := isCountQuery(c.in); got != c.want {
			t.Errorf("isCountQuery(%q) = %v", c.in, got)
		}
	}
}
