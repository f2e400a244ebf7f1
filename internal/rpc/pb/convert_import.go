package pb

import "github.com/milvago/milvago/internal/contract"

// FromImportJob converts an import job to its message.
func FromImportJob(j contract.ImportJob) *ImportJob {
	out := &ImportJob{Id: j.ID, DbName: j.DBName, CollectionId: j.CollectionID, CollectionName: j.CollectionName,
		PartitionName: j.PartitionName, Options: j.Options, Ts: j.TS, State: j.State, Reason: j.Reason,
		Progress: j.Progress, ImportedRows: j.ImportedRows, TotalRows: j.TotalRows, Segments: j.Segments,
		Committed: j.Committed, CreateTime: j.CreateTime, CompleteTime: j.CompleteTime}
	for _, g := range j.Files {
		out.Files = append(out.Files, &ImportFileGroup{Files: g})
	}
	return out
}

// ToImportJob converts an import job message back.
func ToImportJob(j *ImportJob) contract.ImportJob {
	out := contract.ImportJob{ID: j.GetId(), DBName: j.GetDbName(), CollectionID: j.GetCollectionId(),
		CollectionName: j.GetCollectionName(), PartitionName: j.GetPartitionName(), Options: j.GetOptions(),
		TS: j.GetTs(), State: j.GetState(), Reason: j.GetReason(), Progress: j.GetProgress(),
		ImportedRows: j.GetImportedRows(), TotalRows: j.GetTotalRows(), Segments: j.GetSegments(),
		Committed: j.GetCommitted(), CreateTime: j.GetCreateTime(), CompleteTime: j.GetCompleteTime()}
	for _, g := range j.GetFiles() {
		out.Files = append(out.Files, g.GetFiles())
	}
	return out
}
