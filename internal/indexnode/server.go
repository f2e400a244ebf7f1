// Package indexnode builds vector and scalar indexes from a flushed segment's binlogs
// and writes the index file to the object store. It is stateless: the index
// coordinator gives it tasks and records their outcome.
package indexnode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
	"unsafe"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/memtrim"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/scalarindex"
	"github.com/milvago/milvago/internal/storage"
)

// Server builds indexes.
type Server struct {
	objects objstore.Store
	logger  *slog.Logger

	// releaseBytes and release: a build whose input is at least
	// releaseBytes calls release before it starts and again once its
	// index, graph and mapping are unreachable (releaseBeforeBytes and
	// memtrim.Release; replaced in tests).
	releaseBytes int
	release      func() time.Duration
}

// New returns an index node.
func New(objects objstore.Store, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{objects: objects, logger: logger.With("component", "indexnode"),
		releaseBytes: releaseBeforeBytes, release: memtrim.Release}
}

// releaseBeforeBytes is the input size from which a build first returns
// the process's garbage and free heap to the OS (memtrim.Release), so
// that its input and graph do not come on top of what an earlier flush or
// build left behind, and returns its own (the graph, the search scratch,
// the decoded column) once the index file is written, so that a server
// going quiet after a build gives the memory back at once instead of at
// memtrim's next quiet check. Smaller builds end before it would matter.
const releaseBeforeBytes = 32 << 20

// Build runs one task to completion.
func (s *Server) Build(ctx context.Context, t contract.BuildTask) (contract.BuildResult, error) {
	if scalarindex.Supports(t.Spec.Type) {
		return s.buildScalar(ctx, t)
	}
	r, large, err := s.buildVector(ctx, t)
	if large {
		// buildVector's index, data set and mapping are unreachable now.
		took := s.release()
		s.logger.Debug("returned the build's memory", "build", t.BuildID, "took", took)
	}
	return r, err
}

// buildVector builds a vector index; large reports an input of at least
// releaseBytes, for which it released the process's free memory first.
func (s *Server) buildVector(ctx context.Context, t contract.BuildTask) (_ contract.BuildResult, large bool, _ error) {
	start := time.Now()
	var (
		idx  index.Index
		data index.Dataset
		err  error
	)
	if t.BinlogPath == "" {
		// The segment predates the field (added to the schema since, so
		// nullable): every row is null and the index holds no vector.
		data = emptyDataset(t.Spec)
		if idx, err = index.New(t.Spec); err != nil {
			return contract.BuildResult{}, large, fmt.Errorf("indexnode: build %d: %w", t.BuildID, err)
		}
		if err := idx.Build(ctx, data); err != nil {
			return contract.BuildResult{}, large, fmt.Errorf("indexnode: build %d: %w", t.BuildID, err)
		}
	} else {
		m, err := s.objects.Map(ctx, t.BinlogPath)
		if err != nil {
			return contract.BuildResult{}, large, fmt.Errorf("indexnode: map %s: %w", t.BinlogPath, err)
		}
		defer m.Close()
		if large = len(m.Bytes()) >= s.releaseBytes; large {
			took := s.release()
			s.logger.Debug("returned free memory before the build", "build", t.BuildID, "took", took)
		}
		col, err := storage.DecodeColumn(m.Bytes())
		if err != nil {
			return contract.BuildResult{}, large, fmt.Errorf("indexnode: decode %s: %w", t.BinlogPath, err)
		}
		if lists, ok := col.(*column.Scalar[*schemapb.VectorField]); ok {
			if idx, data, err = buildEmbList(ctx, t.Spec, lists); err != nil {
				return contract.BuildResult{}, large, fmt.Errorf("indexnode: build %d: %w", t.BuildID, err)
			}
		} else {
			if data, err = Dataset(col); err != nil {
				return contract.BuildResult{}, large, err
			}
			if e, ok := m.(evicter); ok {
				// Decoding checked the binlog's checksum and so paged it
				// all in. A data set converted or compacted from it
				// (float16, nullable) no longer reads it: drop it now;
				// one that views it lets the index drop it once copied.
				if aliases(m.Bytes(), data) {
					data.Evict = e.Evict
				} else {
					e.Evict()
				}
			}
			if idx, err = index.New(t.Spec); err != nil {
				return contract.BuildResult{}, large, fmt.Errorf("indexnode: build %d: %w", t.BuildID, err)
			}
			if err := idx.Build(ctx, data); err != nil {
				return contract.BuildResult{}, large, fmt.Errorf("indexnode: build %d: %w", t.BuildID, err)
			}
		}
	}
	r, err := s.writeIndexFile(ctx, t.BuildID, idx)
	if err != nil {
		return contract.BuildResult{}, large, err
	}
	r.NumRows, r.Took = int64(idx.Len()), time.Since(start)
	s.logger.Info("built index", "build", t.BuildID, "type", t.Spec.Type, "rows", r.NumRows, "bytes", r.SizeBytes, "took", r.Took)
	return r, large, nil
}

// streamPutter is an object store that can store an object as it is
// written (objstore.Local).
type streamPutter interface {
	PutFrom(ctx context.Context, key string, src io.WriterTo) (int64, error)
}

// writeIndexFile serializes a built index of any kind into the build's
// index file, sealed with the checksum trailer the query node verifies at
// load, and returns the result's File and SizeBytes. A store that takes a
// stream gets the serialization as it is written; any other gets it in
// one buffer of exactly the file's size (measured by a first serialization
// into a counter), with no growing buffer's slack and no copy to add the
// trailer. A large index thus never exists twice in memory, and in
// standalone (a local store) its serialization never does at all.
func (s *Server) writeIndexFile(ctx context.Context, buildID int64, idx io.WriterTo) (contract.BuildResult, error) {
	path := storage.IndexFilePath(buildID, "index")
	sealed := storage.SealedIndex{Index: idx}
	if sp, ok := s.objects.(streamPutter); ok {
		n, err := sp.PutFrom(ctx, path, sealed)
		if err != nil {
			return contract.BuildResult{}, fmt.Errorf("indexnode: write build %d to %s: %w", buildID, path, err)
		}
		return contract.BuildResult{File: path, SizeBytes: n}, nil
	}
	size, err := storage.SealedIndexSize(idx)
	if err != nil {
		return contract.BuildResult{}, fmt.Errorf("indexnode: serialize build %d: %w", buildID, err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := sealed.WriteTo(buf); err != nil {
		return contract.BuildResult{}, fmt.Errorf("indexnode: serialize build %d: %w", buildID, err)
	}
	if err := s.objects.Put(ctx, path, buf.Bytes()); err != nil {
		return contract.BuildResult{}, fmt.Errorf("indexnode: write %s: %w", path, err)
	}
	return contract.BuildResult{File: path, SizeBytes: int64(buf.Len())}, nil
}

// evicter is a mapping whose pages can be dropped from the resident set
// (objstore.Local's mappings); they are read back if used again.
type evicter interface{ Evict() }

// aliases reports whether data's vectors lie in the mapped file b.
func aliases(b []byte, data index.Dataset) bool {
	var p unsafe.Pointer
	switch {
	case len(data.Float) > 0:
		p = unsafe.Pointer(unsafe.SliceData(data.Float))
	case len(data.Binary) > 0:
		p = unsafe.Pointer(unsafe.SliceData(data.Binary))
	default:
		return true // nothing decoded was copied (sparse rows alias, no rows)
	}
	if len(b) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return uintptr(p) >= lo && uintptr(p) < lo+uintptr(len(b))
}

// emptyDataset is a data set of no vectors of the kind spec indexes.
func emptyDataset(spec index.Spec) index.Dataset {
	kind, _ := index.KindOf(index.ResolveAuto(spec).Type)
	switch kind {
	case index.KindBinary:
		return index.Dataset{Dim: spec.Dim, Binary: []byte{}}
	case index.KindSparse:
		return index.Dataset{Sparse: [][]byte{}}
	}
	return index.Dataset{Dim: spec.Dim, Float: []float32{}}
}

// Dataset views a vector column as an index data set without copying. A
// nullable column's null rows are left out (they are never searched): the
// index's label j is then the segment's j-th valid row, which is how the
// query node maps it back (segment.NewSealed).
func Dataset(c column.Column) (index.Dataset, error) {
	if valid := column.ValidRows(c); valid != nil {
		c = c.Take(valid)
	}
	switch v := c.(type) {
	case *column.FloatVector:
		return index.Dataset{Dim: v.Dim, Float: v.Data}, nil
	case *column.ByteVector:
		switch v.Type {
		case schemapb.DataType_BinaryVector:
			return index.Dataset{Dim: v.Dim, Binary: v.Data}, nil
		case schemapb.DataType_Float16Vector:
			out := make([]float32, v.Len()*v.Dim)
			distance.Float16sToFloat32s(out, v.Data)
			return index.Dataset{Dim: v.Dim, Float: out}, nil
		case schemapb.DataType_BFloat16Vector:
			out := make([]float32, v.Len()*v.Dim)
			distance.BFloat16sToFloat32s(out, v.Data)
			return index.Dataset{Dim: v.Dim, Float: out}, nil
		case schemapb.DataType_Int8Vector:
			out := make([]float32, v.Len()*v.Dim)
			distance.Int8sToFloat32s(out, unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(v.Data))), len(v.Data)))
			return index.Dataset{Dim: v.Dim, Float: out}, nil
		}
		return index.Dataset{}, fmt.Errorf("indexnode: %s vectors cannot be indexed", v.Type)
	case *column.SparseVector:
		return index.Dataset{Sparse: v.Rows}, nil
	}
	return index.Dataset{}, fmt.Errorf("indexnode: %s is not a vector column", c.DataType())
}
