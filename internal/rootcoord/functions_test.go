package rootcoord

import (
	"context"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

func TestCollectionFunctions(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newServer(t, store, nil)
	schema := testSchema("a")
	schema.Fields = append(schema.Fields, &schemapb.FieldSchema{FieldID: 102, Name: "text", DataType: schemapb.DataType_VarChar,
		TypeParams: []*commonpb.KeyValuePair{{Key: "max_length", Value: "64"}}})
	a, err := s.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema, ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	fn := func(name, in, out string, params ...string) *schemapb.FunctionSchema {
		f := &schemapb.FunctionSchema{Name: name, Type: schemapb.FunctionType_TextEmbedding, InputFieldNames: []string{in}, OutputFieldNames: []string{out}}
		for i := 0; i+1 < len(params); i += 2 {
			f.Params = append(f.Params, &commonpb.KeyValuePair{Key: params[i], Value: params[i+1]})
		}
		return f
	}
	c, err := s.AddCollectionFunction(ctx, "", "a", fn("te", "text", "v", "provider", "tei"))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Schema.GetFunctions()
	if len(got) != 1 || got[0].GetId() != 100 || got[0].GetInputFieldIds()[0] != 102 || got[0].GetOutputFieldIds()[0] != 101 ||
		!c.Field("v").GetIsFunctionOutput() || c.Schema.GetVersion() != a.Schema.GetVersion()+1 || c.UpdateTS <= a.UpdateTS {
		t.Fatalf("after add: %v, version %d", got, c.Schema.GetVersion())
	}
	for _, e := range []struct {
		fn   *schemapb.FunctionSchema
		want string
		code int32
	}{
		{fn("te", "text", "v"), "function name already exists: te", 1100},
		{fn("x", "nope", "v"), "function's input field nope not exists", 65535},
		{fn("x", "text", "nope"), "function's output field nope not exists", 65535},
		{fn("x", "text", "v"), "function's output field v is already of other functions", 65535},
	} {
		if _, err := s.AddCollectionFunction(ctx, "", "a", e.fn); err == nil || !strings.Contains(err.Error(), e.want) || errs.CodeOf(err) != e.code {
			t.Errorf("add %s: %v (code %d), want %q (%d)", e.fn.GetName(), err, errs.CodeOf(err), e.want, e.code)
		}
	}
	// Alter keeps the ID; the new outputs are bound.
	c, err = s.AlterCollectionFunction(ctx, "", "a", fn("te", "text", "v", "provider", "tei", "endpoint", "http://x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Schema.GetFunctions(); len(got) != 1 || got[0].GetId() != 100 || len(got[0].GetParams()) != 2 || !c.Field("v").GetIsFunctionOutput() {
		t.Fatalf("after alter: %v", got)
	}
	if _, err := s.AlterCollectionFunction(ctx, "", "a", fn("nope", "text", "v")); err == nil || err.Error() != "function nope not exists" {
		t.Errorf("alter absent: %v", err)
	}
	// Stored: a restart sees it; dropping frees the output field.
	s2 := newServer(t, store, nil)
	c, err = s2.DescribeCollection(ctx, "", "a", 0)
	if err != nil || len(c.Schema.GetFunctions()) != 1 || c.Schema.GetFunctions()[0].GetParams()[1].GetValue() != "http://x" {
		t.Fatalf("after restart: %v, %v", c.Schema.GetFunctions(), err)
	}
	version := c.Schema.GetVersion()
	c, err = s2.DropCollectionFunction(ctx, "", "a", "te")
	if err != nil || len(c.Schema.GetFunctions()) != 0 || c.Field("v").GetIsFunctionOutput() || c.Schema.GetVersion() != version+1 {
		t.Fatalf("after drop: %v, %v", c.Schema.GetFunctions(), err)
	}
	same, err := s2.DropCollectionFunction(ctx, "", "a", "te")
	if err != nil || same.Schema.GetVersion() != c.Schema.GetVersion() {
		t.Fatalf("drop of an absent function: %v", err)
	}
	// The next function ID follows the largest.
	if c, err = s2.AddCollectionFunction(ctx, "", "a", fn("te2", "text", "v")); err != nil || c.Schema.GetFunctions()[0].GetId() != 100 {
		t.Fatalf("re-add: %v, %v", c.Schema.GetFunctions(), err)
	}
}
