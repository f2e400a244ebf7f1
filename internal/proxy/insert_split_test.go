package proxy

import (
	"context"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

// recordingWriter keeps the inserts appended to it.
type recordingWriter struct{ ins []contract.Insert }

func (w *recordingWriter) AppendInsert(_ context.Context, _ string, in contract.Insert) (contract.AppendResult, error) {
	w.ins = append(w.ins, in)
	return contract.AppendResult{TS: uint64(len(w.ins))}, nil
}

func (w *recordingWriter) AppendDelete(context.Context, string, *msg.Message) (contract.AppendResult, error) {
	return contract.AppendResult{}, nil
}

func (w *recordingWriter) Seal(context.Context, string, string, int64) ([]int64, uint64, error) {
	return nil, 0, nil
}

func (w *recordingWriter) FlushAll(context.Context, string, []contract.VChannel) (contract.AppendResult, error) {
	return contract.AppendResult{}, nil
}

func (w *recordingWriter) SyncTo(context.Context, string, uint64) error { return nil }

// TestInsertSplitByMessageSize: an insert is split into log messages of
// at most InsertMessageBytes (Milvus's pulsar.maxMessageSize, 2 MiB), even
// when the log takes larger ones, in order and losing no row.
func TestInsertSplitByMessageSize(t *testing.T) {
	const dim, n = 128, 10000
	rowBytes := 8 + dim*4
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector,
			TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "128"}}},
	}}
	c := &model.Collection{ID: 1, Schema: schema, VChannels: []string{"v0"}, PChannels: []string{"p0"}, ShardsNum: 1}
	ids := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	vecs := &column.FloatVector{Dim: dim, Data: make([]float32, n*dim)}
	for i := range ids.Data {
		ids.Data[i] = int64(i)
		vecs.Data[i*dim] = float32(i)
	}
	for _, tc := range []struct {
		name           string
		max, insertMsg int
		wantRows       int
	}{
		{"milvus 2 MiB", 8 << 20, DefaultInsertMessageBytes, DefaultInsertMessageBytes / rowBytes},
		{"log's limit smaller", 1 << 20, DefaultInsertMessageBytes, (1 << 20) * 3 / 4 / rowBytes},
		{"no split size", 8 << 20, 0, (8 << 20) * 3 / 4 / rowBytes},
	} {
		w := &recordingWriter{}
		s := &Server{cfg: Config{MaxMessageBytes: tc.max, InsertMessageBytes: tc.insertMsg}, d: Deps{Writer: w}}
		if _, err := s.appendRows(context.Background(), c, 7, 0, map[int64]column.Column{100: ids, 101: vecs}, n, rowBytes, false); err != nil {
			t.Fatal(err)
		}
		next := int64(0)
		for i, in := range w.ins {
			if in.Rows > int64(tc.wantRows) || (i < len(w.ins)-1 && in.Rows != int64(tc.wantRows)) {
				t.Fatalf("%s: message %d holds %d rows, want %d", tc.name, i, in.Rows, tc.wantRows)
			}
			got := in.Message.Insert.GetFieldsData()[0].GetScalars().GetLongData().GetData()
			if int64(len(got)) != in.Rows || got[0] != next {
				t.Fatalf("%s: message %d starts at row %d with %d keys, want row %d", tc.name, i, got[0], len(got), next)
			}
			next += in.Rows
		}
		if next != n {
			t.Fatalf("%s: %d rows appended, want %d", tc.name, next, n)
		}
	}
}
