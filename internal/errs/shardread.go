package errs

import (
	"errors"
	"fmt"
)

// shown is context that Milvus's proxy puts in front of an error with
// errors.Wrap: unlike Milvago's own fmt.Errorf context, the innermost of
// it is in the status's reason (Reason), followed by what clients would
// see of the error it wraps; all of it is in the Detail.
type shown struct {
	prefix string
	err    error
	shard  bool // ShardRead's delegator wrapper
}

func (s *shown) Error() string { return s.prefix + ": " + s.err.Error() }
func (s *shown) Unwrap() error { return s.err }

// ShardRead is err, the failure of one shard's read on query node node, as
// Milvus's proxy reports it: its load balancer's "failed to search/query
// delegator <node> for channel <channel>: " (shardclient/lb_policy.go:302)
// and, when the node answered with a refusal rather than the call failing,
// the shard call's "fail to search on QueryNode <node>: " (search,
// task_search.go:1084) or "fail to Query on QueryNode <node>: " (query,
// task_query.go:752) before err's own text. The Detail has the whole
// text, the Reason the innermost prefix and err's (Reason); errors.Is and
// CodeOf see err.
func ShardRead(search bool, node int64, channel string, answered bool, err error) error {
	if answered {
		op := "Query"
		if search {
			op = "search"
		}
		err = &shown{prefix: fmt.Sprintf("fail to %s on QueryNode %d", op, node), err: err}
	}
	return &shown{prefix: fmt.Sprintf("failed to search/query delegator %d for channel %s", node, channel), err: err, shard: true}
}

// IsShardRead reports whether err wraps a ShardRead error.
func IsShardRead(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := e.(*shown); ok && s.shard {
			return true
		}
	}
	return false
}

// ReadFailed is a search's or a query's shard failure (a ShardRead error)
// under the task's "failed to search: " (task_search.go:886) or "failed
// to query: " (task_query.go:609), in the status's Detail (Milvus's
// Reason stops at the wrapper next to the root: Reason).
func ReadFailed(search bool, err error) error {
	if search {
		return &shown{prefix: "failed to search", err: err}
	}
	return &shown{prefix: "failed to query", err: err}
}
