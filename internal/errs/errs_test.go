package errs

import (
	"errors"
	"fmt"
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
	f(PartitionNotFound("p1", "does not exist"), "partition not found[partition=p1]: does not exist")
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
