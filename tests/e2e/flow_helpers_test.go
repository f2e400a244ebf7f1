package e2e

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
)

// indexAndLoad builds an index on field and loads the collection, waiting
// for both.
func indexAndLoad(t *testing.T, ctx context.Context, cli *milvusclient.Client, name, field string, idx index.Index) {
	t.Helper()
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, field, idx))
	if err != nil {
		t.Fatalf("create index on %s.%s: %v", name, field, err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("await index on %s.%s: %v", name, field, err)
	}
	load(t, ctx, cli, name)
}

// load loads a collection and waits until it serves reads.
func load(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("await load %s: %v", name, err)
	}
}

// flush flushes a collection and waits for it.
func flush(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush %s: %v", name, err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("await flush %s: %v", name, err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: %s", what, within, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantCode checks that err carries the Milvus code (as merr.Code reads it
// from the status the SDK got) and that its message contains every one of
// the fragments.
func wantCode(t *testing.T, err error, code int32, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d %q", code, fragments)
	}
	if got := merr.Code(err); got != code {
		t.Fatalf("error %q: code %d, want %d", err, got, code)
	}
	for _, f := range fragments {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(f)) {
			t.Fatalf("error %q does not mention %q", err, f)
		}
	}
}

// wantErrIs checks errors.Is(err, target) for a merr sentinel.
func wantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v (code %d) is not %v", err, merr.Code(err), target)
	}
}

// int64Col returns an Int64 column's values.
func int64Col(t *testing.T, rs milvusclient.ResultSet, name string) []int64 {
	t.Helper()
	c := rs.GetColumn(name)
	if c == nil {
		t.Fatalf("result has no column %q (has %v)", name, columnNames(rs))
	}
	ic, ok := c.(*column.ColumnInt64)
	if !ok {
		t.Fatalf("column %q is %T, want Int64", name, c)
	}
	return ic.Data()
}

// ids returns a result set's Int64 primary keys.
func ids(t *testing.T, rs milvusclient.ResultSet) []int64 {
	t.Helper()
	if rs.IDs == nil {
		return nil
	}
	ic, ok := rs.IDs.(*column.ColumnInt64)
	if !ok {
		t.Fatalf("IDs are %T, want Int64", rs.IDs)
	}
	return ic.Data()
}

func columnNames(rs milvusclient.ResultSet) []string {
	var out []string
	for _, c := range rs.Fields {
		out = append(out, c.Name())
	}
	return out
}

func sortedCopy(x []int64) []int64 {
	y := slices.Clone(x)
	slices.Sort(y)
	return y
}

// l2sq is the squared L2 distance Milvus reports.
func l2sq(a, b []float32) float32 {
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func cosine(a, b []float32) float32 {
	return dot(a, b) / float32(math.Sqrt(float64(dot(a, a)))*math.Sqrt(float64(dot(b, b))))
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-4*math.Max(1, math.Abs(float64(b))) }

func strong[T interface {
	WithConsistencyLevel(entity.ConsistencyLevel) T
}](o T) T {
	return o.WithConsistencyLevel(entity.ClStrong)
}
