package errs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCodeOfWrapped(t *testing.T) {
	f := func(err error, want int32) {
		t.Helper()
		if got := CodeOf(err); got != want {
			t.Errorf("CodeOf(%v) = %d, want %d", err, got, want)
		}
	}
	f(nil, 0)
	f(errors.New("boom"), 65535)
	f(CollectionNotFound("c1"), 100)
	f(fmt.Errorf("describe: %w", CollectionNotFound("c1")), 100)
	f(InvalidParameter("dim %d out of range", 0), 1100)
	f(InvalidParameterValue("128", "64", "dimension mismatch"), 1100)
}

func TestMessagesFollowMilvus(t *testing.T) {
	f := func(err error, want string) {
		t.Helper()
		if err.Error() != want {
			t.Errorf("got %q, want %q", err.Error(), want)
		}
	}
	f(CollectionNotFound("book"), "collection not found[collection=book]")
	f(InvalidParameter("bad dim"), "bad dim: invalid parameter")
	// merr.WrapErrX(value, msg...) is errors.Wrap(wrapFields(...), msg):
	// the reason first, the "[key=value]" fields last, several reasons
	// joined with "->".
	f(PartitionNotFound("p1", "does not exist"), "does not exist: partition not found[partition=p1]")
	f(PartitionNotFound("p1"), "partition not found[partition=p1]")
	f(PartitionNotFound("p1", ""), "partition not found[partition=p1]")
	f(CollectionNotLoaded("book", "collection not fully loaded"), "collection not fully loaded: collection not loaded[collection=book]")
	f(FieldNotFound("v", "vector field not found in schema"), "vector field not found in schema: field not found[field=v]")
	f(NodeNotFound(7, "destination node not found in the same replica"), "destination node not found in the same replica: node not found[node=7]")
	f(NodeOffline(7, "its session expired"), "its session expired: node offline[node=7]")
	f(ChannelNotAvailable("ch", "no available shard leaders"), "no available shard leaders: channel not available[channel=ch]")
	f(ReplicaNotAvailable(3, "no node"), "no node: replica not available[replica=3]")
	f(CollectionNotFullyLoaded(1, "a", "b"), "a->b: collection not fully loaded[collection=1]")
	f(SegmentNotFound(9, "segment not found in source node"), "segment not found in source node: segment not found[segment=9]")
	f(InvalidParameterValue("128", "64", "dimension mismatch"), "dimension mismatch: invalid parameter[expected=128][actual=64]")
	f(InvalidParameterValue("128", "64"), "invalid parameter[expected=128][actual=64]")
	f(StaleCoordinator("querycoord", 2, 3), "a newer querycoord leads: node not match[role=querycoord][term=2][newestTerm=3]")
	f(ServiceNotReady("standalone", 1, "Initializing"), "service not ready[standalone=1]: Initializing")
}

func TestIsMatchesByCode(t *testing.T) {
	rebuilt := &Error{Code: 100, Msg: "whatever the server said"}
	if !errors.Is(rebuilt, ErrCollectionNotFound) || !errors.Is(CollectionNotFound("x"), ErrCollectionNotFound) {
		t.Fatal("errors with code 100 must match ErrCollectionNotFound")
	}
	if errors.Is(CollectionNotFound("x"), ErrParameterInvalid) {
		t.Fatal("different codes must not match")
	}
	if !IsRetriable(fmt.Errorf("x: %w", ErrServiceNotReady)) || IsRetriable(ErrParameterInvalid) {
		t.Fatal("retriable flag not carried")
	}
}

// TestShardReadReason checks what clients read of a shard's failure: the
// innermost Milvus context (the shard call's for a refusal, the load
// balancer's for a failed call) before the shown text of the node's
// error, which keeps its code, as Milvus's merr.Status gives the text of
// the wrapper next to the root (previousLastError); the task's and the
// load balancer's prefixes, Milvago's own context around it and inside a
// remote error stay in the detail.
func TestShardReadReason(t *testing.T) {
	remote := Remote(&Error{Code: 201, Msg: "partition not loaded[partition=9]"}, "querynode: search: partition not loaded[partition=9]")
	err := fmt.Errorf("proxy context: %w", ReadFailed(true, ShardRead(true, 4, "dml_0v0", true, remote)))
	want := "fail to search on QueryNode 4: partition not loaded[partition=9]"
	if got := Reason(err); got != want {
		t.Fatalf("Reason: %q, want %q", got, want)
	}
	if d := err.Error(); !strings.Contains(d, "failed to search: failed to search/query delegator 4 for channel dml_0v0: fail to search on QueryNode 4: ") {
		t.Fatalf("detail %q lost the proxy's context", d)
	}
	if CodeOf(err) != 201 || !errors.Is(err, ErrPartitionNotLoaded) || !IsShardRead(err) {
		t.Fatalf("code %d, is %v, shard read %v", CodeOf(err), errors.Is(err, ErrPartitionNotLoaded), IsShardRead(err))
	}
	if !strings.Contains(err.Error(), "querynode: search: ") {
		t.Fatalf("detail %q lost the node's context", err.Error())
	}
	// A failed call (not a refusal) has no "fail to Query on QueryNode".
	err = ReadFailed(false, ShardRead(false, 4, "dml_0v0", false, fmt.Errorf("dial: %w", ErrServiceUnavailable)))
	want = "failed to search/query delegator 4 for channel dml_0v0: dial: service unavailable"
	if got := Reason(err); got != want {
		t.Fatalf("Reason: %q, want %q", got, want)
	}
	if IsShardRead(fmt.Errorf("x: %w", ErrServiceUnavailable)) {
		t.Fatal("a plain error reads as a shard read")
	}
}
