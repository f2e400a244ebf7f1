package querynode

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
)

// collections resolves collections by ID (the root coordinator).
type collections interface {
	DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
}

// UpdateCollection gives a loaded collection its new definition after a
// schema change (a field added or a field's parameters altered). Every
// shard switches to it at once: rows already loaded, growing or sealed,
// read a field they do not hold as its default or null. It does nothing
// when the collection is not loaded, or when c is not newer than what the
// node has.
func (s *Server) UpdateCollection(c *model.Collection) error {
	s.mu.Lock()
	lc, ok := s.collections[c.ID]
	if ok && c.UpdateTS >= lc.coll.UpdateTS {
		lc.coll = c
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	for _, dl := range lc.shards {
		if err := dl.setCollection(c); err != nil {
			return err
		}
	}
	return nil
}

// setCollection switches the shard to c, rebuilding its segments under
// the new schema. A definition older than the shard's is ignored.
func (dl *delegator) setCollection(c *model.Collection) error {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.setCollectionLocked(c)
}

func (dl *delegator) setCollectionLocked(c *model.Collection) error {
	cur := dl.coll()
	if c.UpdateTS < cur.UpdateTS || c == cur {
		return nil
	}
	if sameFields(cur.Schema.GetFields(), c.Schema.GetFields()) {
		// Only parameters changed (AlterCollectionField: max_length,
		// mmap.enabled, a description): rows read the same.
		dl.collp.Store(c)
		return nil
	}
	for id, g := range dl.growing {
		ng, err := g.WithSchema(c.Schema)
		if err != nil {
			return fmt.Errorf("querynode: shard %s: %w", dl.plan.VChannel, err)
		}
		dl.growing[id] = ng
	}
	for id, old := range dl.sealed {
		ns, err := old.seg.WithSchema(c.Schema)
		if err != nil {
			return fmt.Errorf("querynode: shard %s: %w", dl.plan.VChannel, err)
		}
		// The copy reads old's mapped files: it holds a reference on old,
		// released when the copy is unmapped in turn.
		old.acquire()
		next := &sealedSegment{seg: ns, mappings: []objstore.Mapping{mappingRef{old}}, centroids: old.centroids, sources: old.sources}
		dl.sealed[id] = next
		old.close()
	}
	dl.collp.Store(c)
	dl.logger.Info("schema changed", "collection", c.ID, "fields", len(c.Schema.GetFields()), "version", c.Schema.GetVersion())
	return nil
}

// refreshForInsert makes sure the shard's schema knows every field of an
// insert. The log can carry a field added moments ago before
// UpdateCollection reached the shard: the current definition is then
// fetched. Caller holds mu.
func (dl *delegator) refreshForInsert(ins *msg.Message) error {
	coll := dl.coll()
	for _, fd := range ins.Insert.GetFieldsData() {
		if coll.FieldByID(fd.GetFieldId()) != nil {
			continue
		}
		if dl.d.Collections == nil {
			return fmt.Errorf("querynode: insert into %s carries unknown field %d (%q)", dl.plan.VChannel, fd.GetFieldId(), fd.GetFieldName())
		}
		c, err := dl.d.Collections.DescribeCollection(context.Background(), "", "", dl.coll().ID)
		if err != nil {
			return fmt.Errorf("querynode: refresh schema of %s: %w", dl.plan.VChannel, err)
		}
		return dl.setCollectionLocked(c)
	}
	return nil
}

// mappingRef is a mapping that stands for a reference on another sealed
// segment: closing it releases that segment.
type mappingRef struct{ s *sealedSegment }

func (m mappingRef) Bytes() []byte { return nil }

func (m mappingRef) Close() error {
	m.s.release()
	return nil
}

// coll is the shard's current collection definition.
func (dl *delegator) coll() *model.Collection { return dl.collp.Load() }

// sameFields reports whether two schemas have the same field IDs, types
// and defaults, in order.
func sameFields(a, b []*schemapb.FieldSchema) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GetFieldID() != b[i].GetFieldID() || a[i].GetDataType() != b[i].GetDataType() ||
			a[i].GetNullable() != b[i].GetNullable() || !proto.Equal(a[i].GetDefaultValue(), b[i].GetDefaultValue()) {
			return false
		}
	}
	return true
}
