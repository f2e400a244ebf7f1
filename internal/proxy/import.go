package proxy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/importer"
	"github.com/milvago/milvago/internal/model"
)

// importCoord is what the proxy needs from the data coordinator for bulk
// import (docs/import.md): the data coordinator itself in standalone mode,
// its gRPC client (coordrpc.ImportsClient) in a cluster.
type importCoord interface {
	CreateImport(ctx context.Context, job contract.ImportJob) (int64, error)
	ImportJob(ctx context.Context, id int64) (contract.ImportJob, bool, error)
	ListImports(ctx context.Context, collectionID int64) ([]contract.ImportJob, error)
}

// ErrImportSysFailed is Milvus's merr.ErrImportSysFailed (code 2101).
var ErrImportSysFailed = &errs.Error{Code: 2101, Msg: "importing data failed on server side"}

// maxFilesPerImport is Milvus's dataCoord.import.maxFilesPerImportReq.
const maxFilesPerImport = 1024

func (s *Server) imports() (importCoord, error) {
	ic := s.d.Imports
	if ic == nil {
		return nil, fmt.Errorf("bulk import: %w", errs.ErrServiceUnimplemented)
	}
	return ic, nil
}

// ImportRequest is a bulk import as the REST API and gRPC carry it.
type ImportRequest struct {
	DB, Collection, Partition string
	Files                     [][]string
	Options                   map[string]string
}

// CreateImport validates an import and starts it: it returns the job ID.
func (s *Server) CreateImport(ctx context.Context, req ImportRequest) (int64, error) {
	ic, err := s.imports()
	if err != nil {
		return 0, err
	}
	c, err := s.collection(ctx, dbOf(ctx, req.DB), req.Collection)
	if err != nil {
		return 0, err
	}
	hasKey := false
	for _, f := range c.Schema.GetFields() {
		hasKey = hasKey || f.GetIsPartitionKey()
	}
	if hasKey && req.Partition != "" {
		return 0, importer.Failed("not allow to set partition name for collection with partition key")
	}
	if !hasKey {
		name := req.Partition
		if name == "" {
			name = model.DefaultPartition
		}
		if _, ok := c.PartitionByName(name); !ok {
			return 0, partitionNotFound(name)
		}
	}
	var files [][]string
	for _, g := range req.Files {
		if len(g) > 0 {
			files = append(files, g)
		}
	}
	if len(files) == 0 {
		return 0, errs.InvalidParameter("import request is empty")
	}
	if len(files) > maxFilesPerImport {
		return 0, importer.Failed("The max number of import files should not exceed %d, but got %d", maxFilesPerImport, len(files))
	}
	for _, g := range files {
		if _, err := importer.FormatOf(g); err != nil {
			return 0, err
		}
	}
	if _, err := importer.ParseOptions(req.Options); err != nil {
		return 0, err
	}
	ts, err := s.d.Root.AllocTimestamp(ctx, 1)
	if err != nil {
		return 0, err
	}
	return ic.CreateImport(ctx, contract.ImportJob{DBName: c.DBName, CollectionID: c.ID, CollectionName: c.Name,
		PartitionName: req.Partition, Files: files, Options: req.Options, TS: ts})
}

// ImportJob returns one job by its ID (the decimal string of REST and
// ImportV2).
func (s *Server) ImportJob(ctx context.Context, jobID string) (contract.ImportJob, error) {
	ic, err := s.imports()
	if err != nil {
		return contract.ImportJob{}, err
	}
	id, err := strconv.ParseInt(jobID, 10, 64)
	if err != nil {
		return contract.ImportJob{}, errs.ImportFailed("parse job id failed: %v", err) // datacoord/services.go:1991
	}
	job, ok, err := ic.ImportJob(ctx, id)
	if err != nil {
		return contract.ImportJob{}, err
	}
	if !ok {
		return contract.ImportJob{}, fmt.Errorf("import job does not exist, jobID=%d: %w", id, ErrImportSysFailed)
	}
	return job, nil
}

// ListImports lists the jobs of a collection (every collection when
// collection is empty).
func (s *Server) ListImports(ctx context.Context, db, collection string) ([]contract.ImportJob, error) {
	ic, err := s.imports()
	if err != nil {
		return nil, err
	}
	var id int64
	if collection != "" {
		c, err := s.collection(ctx, dbOf(ctx, db), collection)
		if err != nil {
			return nil, err
		}
		id = c.ID
	}
	return ic.ListImports(ctx, id)
}

// Import is the v1 gRPC import: its files are one file group.
func (s *Server) Import(ctx context.Context, req *milvuspb.ImportRequest) (*milvuspb.ImportResponse, error) {
	opts := map[string]string{}
	for _, kv := range req.GetOptions() {
		opts[kv.GetKey()] = kv.GetValue()
	}
	var files [][]string
	if len(req.GetFiles()) > 0 {
		files = [][]string{req.GetFiles()}
	}
	id, err := s.CreateImport(ctx, ImportRequest{DB: req.GetDbName(), Collection: req.GetCollectionName(),
		Partition: req.GetPartitionName(), Files: files, Options: opts})
	if err != nil {
		return nil, err
	}
	return &milvuspb.ImportResponse{Tasks: []int64{id}}, nil
}

// GetImportState is the v1 gRPC progress call.
func (s *Server) GetImportState(ctx context.Context, req *milvuspb.GetImportStateRequest) (*milvuspb.GetImportStateResponse, error) {
	job, err := s.ImportJob(ctx, strconv.FormatInt(req.GetTask(), 10))
	if err != nil {
		return nil, err
	}
	return importStateV1(job), nil
}

// ListImportTasks is the v1 gRPC list call.
func (s *Server) ListImportTasks(ctx context.Context, req *milvuspb.ListImportTasksRequest) (*milvuspb.ListImportTasksResponse, error) {
	jobs, err := s.ListImports(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if l := req.GetLimit(); l > 0 && int64(len(jobs)) > l {
		jobs = jobs[int64(len(jobs))-l:]
	}
	out := &milvuspb.ListImportTasksResponse{}
	for _, j := range jobs {
		out.Tasks = append(out.Tasks, importStateV1(j))
	}
	return out, nil
}

func importStateV1(j contract.ImportJob) *milvuspb.GetImportStateResponse {
	state := commonpb.ImportState_ImportFailed
	switch j.State {
	case contract.ImportPending:
		state = commonpb.ImportState_ImportPending
	case contract.ImportImporting:
		state = commonpb.ImportState_ImportStarted
	case contract.ImportCompleted:
		state = commonpb.ImportState_ImportCompleted
	}
	return &milvuspb.GetImportStateResponse{State: state, RowCount: j.ImportedRows, Id: j.ID,
		CollectionId: j.CollectionID, SegmentIds: j.Segments, CreateTs: time.UnixMilli(j.CreateTime).Unix(),
		Infos: []*commonpb.KeyValuePair{{Key: "failed_reason", Value: j.Reason},
			{Key: "progress_percent", Value: strconv.FormatInt(j.Progress, 10)}}}
}

// ImportBatches validates a file group's field data exactly as an insert
// (defaults, nulls, dynamic field, limits), gives auto-ID rows their keys
// and splits the rows by partition (name, or partition key) and shard.
func ImportBatches(ctx context.Context, ids idAllocator, c *model.Collection, partition string, fields []*schemapb.FieldData, n int) ([]RowBatch, error) {
	// The file readers build nullable columns in full form; the insert
	// checks take Milvus's compact form.
	compact := make([]*schemapb.FieldData, len(fields))
	for i, fd := range fields {
		compact[i] = column.Compact(fd)
	}
	fields, err := typedInput(c, compact)
	if err != nil {
		return nil, err
	}
	cols, err := insertColumns(c.Schema, fields, n, false)
	if err != nil {
		return nil, err
	}
	pk := pkField(c)
	if _, ok := cols[pk.GetFieldID()]; !ok {
		if err := allocAutoIDs(ctx, ids, pk, cols, n); err != nil {
			return nil, err
		}
	}
	return splitRows(c, partition, cols, n)
}
