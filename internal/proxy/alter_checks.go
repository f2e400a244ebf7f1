package proxy

import (
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// Collection properties AlterCollection treats specially (pkg/common).
const (
	mmapEnabledKey    = "mmap.enabled"
	lazyLoadEnableKey = "lazyload.enabled"
)

// isWarmupKey is common.IsWarmupKey: the field-level "warmup" key and the
// collection-level warmup.* keys.
func isWarmupKey(key string) bool {
	switch key {
	case "warmup", "warmup.scalarField", "warmup.scalarIndex", "warmup.vectorField", "warmup.vectorIndex":
		return true
	}
	return false
}

// checkAlterCollection is the part of Milvus 2.6's
// alterCollectionTask.PreExecute (internal/proxy/task.go) that Milvago's
// properties need, in its order and with its texts: properties and
// delete keys are exclusive, load-time properties (mmap, lazy load,
// warmup) cannot change while the collection is loaded, and
// allow_insert_auto_id needs an auto_id primary key.
func checkAlterCollection(c *model.Collection, loaded bool, props []*commonpb.KeyValuePair, deleteKeys []string) error {
	if len(props) > 0 && len(deleteKeys) > 0 {
		return errInvalidMsg("cannot provide both DeleteKeys and ExtraParams")
	}
	if len(props) > 0 {
		hasMmap, hasWarmup := false, false
		for _, p := range props {
			hasMmap = hasMmap || p.GetKey() == mmapEnabledKey || p.GetKey() == lazyLoadEnableKey
			hasWarmup = hasWarmup || isWarmupKey(p.GetKey())
		}
		if loaded && hasMmap {
			return errs.CollectionLoaded(c.Name, "can not alter mmap properties if collection loaded")
		}
		if loaded && hasWarmup {
			return errs.CollectionLoaded(c.Name, "can not alter warmup properties if collection loaded")
		}
		if v, ok := kvLookup(props, allowInsertAutoIDKey); ok && isTrue(v) && !pkField(c).GetAutoID() {
			return errInvalidMsg("the value for %s must be false when autoID is false", allowInsertAutoIDKey)
		}
		return nil
	}
	for _, key := range deleteKeys {
		if key != mmapEnabledKey && key != lazyLoadEnableKey && !isWarmupKey(key) {
			continue
		}
		if !loaded {
			return nil
		}
		if key == mmapEnabledKey {
			return errs.CollectionLoaded(c.Name, "can not delete mmap properties if collection loaded")
		}
		return errs.CollectionLoaded(c.Name, "can not delete "+key+" properties if collection loaded")
	}
	return nil
}

// isTrue is strconv.ParseBool's true, anything else false (common.IsAllowInsertAutoID).
func isTrue(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}
