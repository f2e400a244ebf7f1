package coordrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// importJobs is what the import service serves (the data coordinator):
// bulk import jobs (docs/import.md).
type importJobs interface {
	CreateImport(ctx context.Context, job contract.ImportJob) (int64, error)
	ImportJob(ctx context.Context, id int64) (contract.ImportJob, bool, error)
	ListImports(ctx context.Context, collectionID int64) ([]contract.ImportJob, error)
	UpdateImportProgress(ctx context.Context, id, progress, importedRows int64) error
}

// ImportsServer serves a data coordinator's import jobs.
type ImportsServer struct {
	pb.UnimplementedDataCoordImportsServer
	jobs importJobs
}

// RegisterImports serves jobs' import jobs on g.
func RegisterImports(g *grpc.Server, jobs importJobs) {
	pb.RegisterDataCoordImportsServer(g, &ImportsServer{jobs: jobs})
}

func (s *ImportsServer) CreateImport(ctx context.Context, r *pb.ImportJob) (*pb.CreateImportResponse, error) {
	id, err := s.jobs.CreateImport(ctx, pb.ToImportJob(r))
	return &pb.CreateImportResponse{Status: rpc.StatusOf(err), JobId: id}, nil
}

func (s *ImportsServer) GetImportJob(ctx context.Context, r *pb.ImportJobRequest) (*pb.ImportJobResponse, error) {
	job, ok, err := s.jobs.ImportJob(ctx, r.GetJobId())
	out := &pb.ImportJobResponse{Status: rpc.StatusOf(err), Found: ok}
	if err == nil && ok {
		out.Job = pb.FromImportJob(job)
	}
	return out, nil
}

func (s *ImportsServer) ListImports(ctx context.Context, r *pb.ListImportsRequest) (*pb.ListImportsResponse, error) {
	jobs, err := s.jobs.ListImports(ctx, r.GetCollectionId())
	out := &pb.ListImportsResponse{Status: rpc.StatusOf(err)}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, pb.FromImportJob(j))
	}
	return out, nil
}

func (s *ImportsServer) UpdateImportProgress(ctx context.Context, r *pb.ImportProgressRequest) (*pb.Empty, error) {
	return Empty(s.jobs.UpdateImportProgress(ctx, r.GetJobId(), r.GetProgress(), r.GetImportedRows())), nil
}

// ImportsClient reaches a remote data coordinator's import jobs: the
// proxy creates and reads jobs, a data node reports their progress.
type ImportsClient struct{ c pb.DataCoordImportsClient }

// NewImportsClient calls the data coordinator over conn.
func NewImportsClient(conn grpc.ClientConnInterface) *ImportsClient {
	return &ImportsClient{c: pb.NewDataCoordImportsClient(conn)}
}

// CreateImport records a new import job and starts it; it returns the
// job's ID.
func (c *ImportsClient) CreateImport(ctx context.Context, job contract.ImportJob) (int64, error) {
	r, err := c.c.CreateImport(ctx, pb.FromImportJob(job))
	if err := Check(dataName, r, err); err != nil {
		return 0, err
	}
	return r.GetJobId(), nil
}

// ImportJob returns a job; false when there is none with that ID.
func (c *ImportsClient) ImportJob(ctx context.Context, id int64) (contract.ImportJob, bool, error) {
	r, err := c.c.GetImportJob(ctx, &pb.ImportJobRequest{JobId: id})
	if err := Check(dataName, r, err); err != nil {
		return contract.ImportJob{}, false, err
	}
	if !r.GetFound() {
		return contract.ImportJob{}, false, nil
	}
	return pb.ToImportJob(r.GetJob()), true, nil
}

// ListImports lists a collection's jobs (every collection's for 0).
func (c *ImportsClient) ListImports(ctx context.Context, collectionID int64) ([]contract.ImportJob, error) {
	r, err := c.c.ListImports(ctx, &pb.ListImportsRequest{CollectionId: collectionID})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	out := make([]contract.ImportJob, 0, len(r.GetJobs()))
	for _, j := range r.GetJobs() {
		out = append(out, pb.ToImportJob(j))
	}
	return out, nil
}

// UpdateImportProgress records a running job's progress.
func (c *ImportsClient) UpdateImportProgress(ctx context.Context, id, progress, importedRows int64) error {
	r, err := c.c.UpdateImportProgress(ctx, &pb.ImportProgressRequest{JobId: id, Progress: progress, ImportedRows: importedRows})
	return Check(dataName, r, err)
}
