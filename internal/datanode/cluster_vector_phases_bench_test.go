package datanode

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// BenchmarkVectorClusteringPhases times the two halves of a vector
// clustering compaction of 200,000 rows x 128 floats around 256 centres
// in 20 segments, 17 centroids (tests/e2e's TestVectorClusteringBenchmark
// without the server): the index node's analysis and the data node's
// compaction, over an in-memory object store.
//
//	go test -run '^$' -bench VectorClusteringPhases -benchtime 3x ./internal/datanode
func BenchmarkVectorClusteringPhases(b *testing.B) {
	const segs, rows, vdim, centres, k = 20, 10_000, 128, 256, 17
	ctx := context.Background()
	objs := objstore.NewMemory()
	coll := &model.Collection{ID: collID, Name: "c", VChannels: []string{vch}, PChannels: []string{pch},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "128"}}},
		}}}
	r := rand.New(rand.NewPCG(9, 9))
	cs := make([]float32, centres*vdim)
	for i := range cs {
		cs[i] = float32(r.NormFloat64() * 4)
	}
	var sources []model.Segment
	var ids []int64
	var bins []string
	for s := range segs {
		seg := model.Segment{ID: int64(s + 1), CollectionID: collID, PartitionID: partA, VChannel: vch, State: model.SegmentFlushed,
			NumRows: rows, Binlogs: map[int64]string{}, FlushTS: 100}
		pks, ts := make([]int64, rows), make([]int64, rows)
		vec := &column.FloatVector{Dim: vdim, Data: make([]float32, rows*vdim)}
		for i := range rows {
			pks[i], ts[i] = int64(s*rows+i), 10
			c := r.IntN(centres)
			for j := range vdim {
				vec.Data[i*vdim+j] = cs[c*vdim+j] + float32(r.NormFloat64())
			}
		}
		for f, col := range map[int64]column.Column{TimestampFieldID: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: ts},
			100: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks}, 101: vec} {
			data, err := storage.EncodeColumn(col)
			if err != nil {
				b.Fatal(err)
			}
			path := storage.InsertLogPath(collID, partA, seg.ID, f, 1000+f)
			if err := objs.Put(ctx, path, data); err != nil {
				b.Fatal(err)
			}
			seg.Binlogs[f] = path
		}
		sources = append(sources, seg)
		ids = append(ids, seg.ID)
		bins = append(bins, seg.Binlogs[101])
	}
	_ = ids
	node := indexnode.New(objs, nil)
	task := contract.AnalyzeTask{TaskID: 77, FieldID: 101, Dim: vdim, SegmentIDs: ids, BinlogPaths: bins, NumClusters: k, TrainRatio: 0.8, Seed: 77}
	var an contract.AnalyzeResult
	b.Run("analyze", func(b *testing.B) {
		for b.Loop() {
			var err error
			if an, err = node.Analyze(ctx, task); err != nil {
				b.Fatal(err)
			}
		}
	})
	s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
	targets := make([]int64, 60)
	for i := range targets {
		targets[i] = int64(10_000 + i)
	}
	ct := contract.CompactionTask{PlanID: 77, Collection: coll, Segments: sources, ClusteringField: 101, TargetIDs: targets,
		PreferRows: 50_000, NumClusters: k, MinClusterRatio: 0.01, AnalyzeFile: an.CentroidsFile}
	ct.AnalyzeMappings = map[int64]string{}
	for i, id := range ids {
		ct.AnalyzeMappings[id] = an.MappingFiles[i]
	}
	b.Run("compact", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Compact(ctx, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}
