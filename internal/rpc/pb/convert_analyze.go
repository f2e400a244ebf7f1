package pb

import (
	"slices"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// FromAnalysis encodes an analyze task and its progress.
func FromAnalysis(a model.AnalyzeTask) *Analysis {
	return &Analysis{Id: a.ID, CollectionId: a.CollectionID, PartitionId: a.PartitionID, FieldId: a.FieldID, Dim: a.Dim,
		SegmentIds: slices.Clone(a.SegmentIDs), Binlogs: slices.Clone(a.Binlogs), NumClusters: a.NumClusters,
		TrainRatio: a.TrainRatio, State: a.State, FailReason: a.FailReason, Attempts: a.Attempts,
		CentroidsFile: a.CentroidsFile, NumCentroids: a.NumCentroids, NumRows: a.NumRows,
		MappingFiles: slices.Clone(a.MappingFiles), Failures: a.Failures}
}

// ToAnalysis decodes an analyze task and its progress.
func ToAnalysis(a *Analysis) model.AnalyzeTask {
	return model.AnalyzeTask{ID: a.GetId(), CollectionID: a.GetCollectionId(), PartitionID: a.GetPartitionId(),
		FieldID: a.GetFieldId(), Dim: a.GetDim(), SegmentIDs: a.GetSegmentIds(), Binlogs: a.GetBinlogs(),
		NumClusters: a.GetNumClusters(), TrainRatio: a.GetTrainRatio(), State: a.GetState(), FailReason: a.GetFailReason(),
		Attempts: a.GetAttempts(), CentroidsFile: a.GetCentroidsFile(), NumCentroids: a.GetNumCentroids(), NumRows: a.GetNumRows(),
		MappingFiles: a.GetMappingFiles(), Failures: a.GetFailures()}
}

// FromAnalyzeTask encodes an index node's analyze task.
func FromAnalyzeTask(t contract.AnalyzeTask) *AnalyzeTask {
	return &AnalyzeTask{TaskId: t.TaskID, FieldId: t.FieldID, Dim: int64(t.Dim), SegmentIds: t.SegmentIDs, BinlogPaths: t.BinlogPaths,
		NumClusters: int64(t.NumClusters), TrainRatio: t.TrainRatio, Seed: t.Seed}
}

// ToAnalyzeTask decodes an index node's analyze task.
func ToAnalyzeTask(t *AnalyzeTask) contract.AnalyzeTask {
	return contract.AnalyzeTask{TaskID: t.GetTaskId(), FieldID: t.GetFieldId(), Dim: int(t.GetDim()), SegmentIDs: t.GetSegmentIds(), BinlogPaths: t.GetBinlogPaths(),
		NumClusters: int(t.GetNumClusters()), TrainRatio: t.GetTrainRatio(), Seed: t.GetSeed()}
}

// FromAnalyzeResult encodes a finished analyze task.
func FromAnalyzeResult(r contract.AnalyzeResult) *AnalyzeResult {
	return &AnalyzeResult{CentroidsFile: r.CentroidsFile, MappingFiles: r.MappingFiles, NumCentroids: r.NumCentroids, NumRows: r.NumRows, TookNanos: int64(r.Took)}
}

// ToAnalyzeResult decodes a finished analyze task.
func ToAnalyzeResult(r *AnalyzeResult) contract.AnalyzeResult {
	return contract.AnalyzeResult{CentroidsFile: r.GetCentroidsFile(), MappingFiles: r.GetMappingFiles(), NumCentroids: r.GetNumCentroids(), NumRows: r.GetNumRows(),
		Took: time.Duration(r.GetTookNanos())}
}
