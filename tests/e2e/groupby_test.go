package e2e

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestGroupBySearch: search with group_by_field and group_size through the
// SDK, over two shards and both flushed and growing segments, against a
// brute-force grouping of the same rows: the `limit` best groups (a group
// ranks by its best hit) with their best hits, at most group_size hits each,
// group after group, and the group values in GroupByValue. Offset skips
// whole groups.
func TestGroupBySearch(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "grouped", 4, 400
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tenant").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	r := rand.New(rand.NewPCG(21, 22))
	vecs := randomVectors(r, n, dim)
	tenants := make([]string, n)
	idsIn := make([]int64, n)
	for i := range idsIn {
		idsIn[i] = int64(i)
		tenants[i] = fmt.Sprintf("t%02d", r.IntN(25))
	}
	insert := func(lo, hi int) {
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn[lo:hi]).
			WithVarcharColumn("tenant", tenants[lo:hi]).WithFloatVectorColumn("vec", dim, vecs[lo:hi]))
		must(t, err)
	}
	insert(0, n/2)
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	must(t, err)
	must(t, ft.Await(ctx))
	insert(n/2, n) // these stay in growing segments
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	q := vecs[7]
	type row struct {
		id     int64
		d      float32
		tenant string
	}
	all := make([]row, n)
	for i, v := range vecs {
		var d float32
		for j := range v {
			x := v[j] - q[j]
			d += x * x
		}
		all[i] = row{int64(i), d, tenants[i]}
	}
	slices.SortFunc(all, func(a, b row) int { return cmp.Compare(a.d, b.d) })
	// want: groups skip+1..skip+limit, size hits each, group after group.
	want := func(skip, limit, size int) []row {
		order := []string{}
		byTenant := map[string][]row{}
		for _, x := range all {
			if _, ok := byTenant[x.tenant]; !ok {
				order = append(order, x.tenant)
			}
			if len(byTenant[x.tenant]) < size {
				byTenant[x.tenant] = append(byTenant[x.tenant], x)
			}
		}
		var out []row
		for _, tn := range order[skip:min(len(order), skip+limit)] {
			out = append(out, byTenant[tn]...)
		}
		return out
	}
	dist := map[int64]float32{}
	for _, x := range all {
		dist[x.id] = x.d
	}
	for _, tc := range []struct{ limit, size, offset int }{{5, 1, 0}, {4, 3, 0}, {3, 2, 2}} {
		opt := milvusclient.NewSearchOption(name, tc.limit, []entity.Vector{entity.FloatVector(q)}).
			WithGroupByField("tenant").WithGroupSize(tc.size).WithOffset(tc.offset).
			WithOutputFields("tenant").WithConsistencyLevel(entity.ClStrong)
		rs, err := cli.Search(ctx, opt)
		must(t, err)
		got := ids(t, rs[0])
		if rs[0].GroupByValue == nil {
			t.Fatal("no group values in the result")
		}
		// Split the hits into groups: group after group, each hit's group
		// value equal to its tenant.
		var groups []string
		var best []int64
		count := map[string]int{}
		for i, id := range got {
			gv, err := rs[0].GroupByValue.GetAsString(i)
			must(t, err)
			if tn, _ := rs[0].GetColumn("tenant").GetAsString(i); tn != gv || tenants[id] != gv {
				t.Fatalf("hit %d (id %d, tenant %q) has group value %q", i, id, tenants[id], gv)
			}
			if len(groups) == 0 || groups[len(groups)-1] != gv {
				if count[gv] > 0 {
					t.Fatalf("group %q is split: %v", gv, got)
				}
				groups = append(groups, gv)
				best = append(best, id)
			} else if dist[id] < dist[got[i-1]] {
				t.Fatalf("group %q is not ordered by distance: %v", gv, got)
			}
			count[gv]++
			if count[gv] > tc.size {
				t.Fatalf("group %q has more than %d hits: %v", gv, tc.size, got)
			}
		}
		// The groups and their best hits are exact: a group's best hit
		// ranks it within the K best groups of the segment holding it.
		// (Which further hits fill a group is, as in Milvus, up to each
		// segment's own K best groups.)
		exp := want(tc.offset, tc.limit, 1)
		if len(groups) != len(exp) {
			t.Fatalf("limit=%d size=%d offset=%d: groups %v, want %v", tc.limit, tc.size, tc.offset, groups, exp)
		}
		for i, x := range exp {
			if groups[i] != x.tenant || best[i] != x.id {
				t.Fatalf("limit=%d size=%d offset=%d: group %d is %q led by id %d, want %q led by %d",
					tc.limit, tc.size, tc.offset, i, groups[i], best[i], x.tenant, x.id)
			}
		}
	}
	// A group-by field that does not exist is refused.
	_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(q)}).WithGroupByField("nope"))
	if err == nil {
		t.Fatal("group by a missing field: no error")
	}
}
