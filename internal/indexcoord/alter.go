package indexcoord

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	"github.com/milvago/milvago/internal/model"
)

// AlterIndex sets (params) or removes (deleteKeys) the configurable
// properties of the collection's index named name (the caller checked the
// keys and that only one of the two is given). The properties are kept
// with the parameters the user gave, which DescribeIndex reports; they do
// not change how segments are built (Milvago memory-maps every sealed
// index whatever mmap.enabled says). It returns false when no index has
// that name.
func (s *Server) AlterIndex(ctx context.Context, collectionID int64, name string, params map[string]string, deleteKeys []string) (bool, error) {
	s.mu.Lock()
	var target *model.IndexDef
	for _, def := range s.defs {
		if def.CollectionID == collectionID && def.Name == name {
			target = def
		}
	}
	if target == nil {
		s.mu.Unlock()
		return false, nil
	}
	next := *target
	next.UserParams = maps.Clone(target.UserParams)
	if next.UserParams == nil {
		next.UserParams = map[string]string{}
	}
	maps.Copy(next.UserParams, params)
	for _, k := range deleteKeys {
		delete(next.UserParams, k)
	}
	s.mu.Unlock()
	b, err := json.Marshal(&next)
	if err != nil {
		return true, fmt.Errorf("indexcoord: encode index %q: %w", name, err)
	}
	if _, err := s.d.KV.Put(ctx, prefixDef+strconv.FormatInt(next.ID, 10), b); err != nil {
		return true, fmt.Errorf("indexcoord: save index %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, still := s.defs[next.ID]; still {
		s.defs[next.ID] = &next
	}
	return true, nil
}
