// Package errs is Milvago's error catalogue: Milvus's public error codes and
// messages, kept as data. Components wrap these sentinels with context
// (fmt.Errorf("describe %q: %w", name, errs.ErrCollectionNotFound)); the
// gRPC edge (internal/rpc) turns any error into a commonpb.Status once,
// with Code and Reason.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one catalogue entry: a Milvus error code, its canonical message
// and whether a client may retry.
type Error struct {
	Code      int32
	Msg       string
	Retriable bool
}

func (e *Error) Error() string { return e.Msg }

// Is matches any catalogue entry with the same code, so that an error
// rebuilt from a wire status matches the sentinel.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func def(code int32, msg string, retriable bool) *Error {
	return &Error{Code: code, Msg: msg, Retriable: retriable}
}

// The catalogue. Codes and messages are Milvus's (pkg/util/merr).
var (
	ErrServiceNotReady             = def(1, "service not ready", true)
	ErrServiceUnavailable          = def(2, "service unavailable", true)
	ErrServiceMemoryLimitExceeded  = def(3, "memory limit exceeded", false)
	ErrServiceRequestLimitExceeded = def(4, "request limit exceeded", true)
	ErrServiceInternal             = def(5, "service internal error", false)
	ErrServiceRateLimit            = def(8, "rate limit exceeded", true)
	ErrServiceQuotaExceeded        = def(9, "quota exceeded", false)
	ErrServiceUnimplemented        = def(10, "service unimplemented", false)

	ErrCollectionNotFound         = def(100, "collection not found", false)
	ErrCollectionNotLoaded        = def(101, "collection not loaded", false)
	ErrCollectionNumLimitExceeded = def(102, "exceeded the limit number of collections", false)
	ErrCollectionNotFullyLoaded   = def(103, "collection not fully loaded", true)
	ErrCollectionLoaded           = def(104, "collection already loaded", false)
	ErrCollectionIllegalSchema    = def(105, "illegal collection schema", false)
	// ErrCollectionVectorClusteringKeyNotAllowed: a FloatVector clustering
	// key, which Milvus 2.6 refuses unless common.enableVectorClusteringKey.
	ErrCollectionVectorClusteringKeyNotAllowed = def(107, "vector clustering key not allowed", false)
	ErrCollectionSchemaMismatch                = def(109, "collection schema mismatch", false)

	ErrPartitionNotFound       = def(200, "partition not found", false)
	ErrPartitionNotLoaded      = def(201, "partition not loaded", false)
	ErrPartitionNotFullyLoaded = def(202, "partition not fully loaded", true)

	ErrGeneralCapacityExceeded = def(250, "general capacity exceeded", false)

	ErrChannelNotFound = def(500, "channel not found", false)

	ErrSegmentNotFound   = def(600, "segment not found", false)
	ErrSegmentNotLoaded  = def(601, "segment not loaded", false)
	ErrSegmentLoadFailed = def(604, "segment load failed", false)

	ErrIndexNotFound     = def(700, "index not found", false)
	ErrIndexNotSupported = def(701, "index type not supported", false)
	ErrIndexDuplicate    = def(702, "index duplicates", false)

	ErrDatabaseNotFound         = def(800, "database not found", false)
	ErrDatabaseNumLimitExceeded = def(801, "exceeded the limit number of database", false)
	ErrDatabaseInvalidName      = def(802, "invalid database name", false)

	ErrIoKeyNotFound = def(1000, "key not found", false)
	ErrIoFailed      = def(1001, "IO failed", false)

	ErrParameterInvalid  = def(1100, "invalid parameter", false)
	ErrParameterMissing  = def(1101, "missing parameter", false)
	ErrParameterTooLarge = def(1102, "parameter too large", false)

	ErrMetricNotFound = def(1200, "metric not found", false)

	ErrPrivilegeNotAuthenticated = def(1400, "not authenticated", false)
	ErrPrivilegeNotPermitted     = def(1401, "privilege not permitted", false)

	ErrAliasNotFound               = def(1600, "alias not found", false)
	ErrAliasCollectionNameConflict = def(1601, "alias and collection name conflict", false)
	ErrAliasAlreadyExist           = def(1602, "alias already exist", false)

	ErrFieldNotFound    = def(1700, "field not found", false)
	ErrFieldInvalidName = def(1701, "field name invalid", false)

	// ErrClusteringCompactionNotSupportVector: a vector clustering
	// compaction of too little data for its fewest centroids (Milvus's
	// analyze task then finishes without centroids).
	ErrClusteringCompactionNotSupportVector = def(2306, "vector field clustering compaction is not supported", false)

	ErrImportFailed = def(2100, "importing data failed", false)

	// ErrInconsistentRequery: a search's second phase (the requery of
	// its hits' output fields by primary key) missed a hit.
	ErrInconsistentRequery = def(2200, "inconsistent requery result", true)

	ErrOperationNotSupported = def(3000, "unsupported operation", false)

	// ErrUnexpected is what an error outside the catalogue becomes on the wire.
	ErrUnexpected = def(65535, "unexpected error", false)
)

// CodeOf returns the Milvus code of err: the code of the catalogue entry it
// wraps, or ErrUnexpected's code. A nil error has code 0.
func CodeOf(err error) int32 {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrUnexpected.Code
}

// IsRetriable reports whether err wraps a retriable catalogue entry.
func IsRetriable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retriable
}

// detailed wraps a sentinel the way Milvus renders merr.WrapErrX(value,
// msg...): the base message with its "[<key>=<value>]" fields, behind the
// reason when there is one ("<reason>: <message>[<key>=<value>]", as
// errors.Wrap puts it).
type detailed struct {
	base   *Error
	detail string // "[key=value]..." appended to the base message
	reason string // text before the base message; "" for none
	alone  bool   // clients see this error's text alone (see Reason)
}

func (d *detailed) Error() string {
	if d.reason == "" {
		return d.base.Msg + d.detail
	}
	return d.reason + ": " + d.base.Msg + d.detail
}

func (d *detailed) Unwrap() error { return d.base }

// Wrap renders base as Milvus's merr.WrapErrX(value, msg...) does: the
// base message followed by fields ("[key=value]...", or any text Milvus
// appends there), behind reason when it is not empty. errors.Is matches
// base and CodeOf reports its code.
func Wrap(base *Error, fields, reason string) error {
	return &detailed{base: base, detail: fields, reason: reason}
}

// with is merr's wrapFields plus errors.Wrap: the reasons are joined with
// "->" as merr's wrappers join their msg arguments.
func with(base *Error, key string, value any, reason []string) error {
	return &detailed{base: base, detail: fmt.Sprintf("[%s=%v]", key, value), reason: strings.Join(reason, "->")}
}

// CollectionNotFound is ErrCollectionNotFound for a name or ID.
func CollectionNotFound(collection any) error {
	return with(ErrCollectionNotFound, "collection", collection, nil)
}

// CollectionNotLoaded is ErrCollectionNotLoaded for a collection.
func CollectionNotLoaded(collection any, reason ...string) error {
	return with(ErrCollectionNotLoaded, "collection", collection, reason)
}

// PartitionNotFound is ErrPartitionNotFound for a partition.
func PartitionNotFound(partition any, reason ...string) error {
	return with(ErrPartitionNotFound, "partition", partition, reason)
}

// PartitionNotLoaded is ErrPartitionNotLoaded for a partition, as
// merr.WrapErrPartitionNotLoaded renders it: "partition not loaded[partition=ID]".
func PartitionNotLoaded(partition any) error {
	return with(ErrPartitionNotLoaded, "partition", partition, nil)
}

// DatabaseNotFound is ErrDatabaseNotFound for a database.
func DatabaseNotFound(db string) error { return with(ErrDatabaseNotFound, "database", db, nil) }

// IndexNotFound is ErrIndexNotFound for a collection.
func IndexNotFound(what any) error { return with(ErrIndexNotFound, "collection", what, nil) }

// FieldNotFound is ErrFieldNotFound for a field.
func FieldNotFound(field any, reason ...string) error {
	return with(ErrFieldNotFound, "field", field, reason)
}

// QuotaExceeded is ErrServiceQuotaExceeded as Milvus's
// merr.WrapErrServiceQuotaExceeded renders it: "quota exceeded[reason=...]".
// Clients see that text alone (Reason), whatever context Milvago wraps
// around it: Milvus refuses such a request at its proxy, with nothing in
// front.
func QuotaExceeded(reason string) error {
	return &detailed{base: ErrServiceQuotaExceeded, detail: "[reason=" + reason + "]", alone: true}
}

// Reason is the text a client's status shows for err (its Reason): the
// text of the outermost error in err's chain that clients see alone (a
// quota refusal, or one received so from another node), else err.Error().
// Of the context Milvus's proxy wraps around an error (ShardRead,
// ReadFailed), the innermost is shown, before what is shown of the error
// it wraps: Milvus's merr.Status gives as Reason the text of the wrapper
// next to the chain's root (previousLastError), so a shard's refusal
// reads "fail to search on QueryNode N: <cause>" and a failed shard call
// "failed to search/query delegator N for channel C: <cause>", without
// the task's "failed to search: " (merr/utils.go Status, "split the
// simple reason and full detail", milvus#28424). The rest of the chain is
// context for the status's Detail and the log.
func Reason(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if d, ok := e.(*detailed); ok && d.alone {
			return d.Error()
		}
		if s, ok := e.(*shown); ok {
			if hasShown(s.err) {
				continue // outer Milvus context: in the Detail only
			}
			return s.prefix + ": " + Reason(s.err)
		}
	}
	return err.Error()
}

// hasShown reports whether err's chain holds Milvus proxy context (a
// *shown) before any error that clients see alone.
func hasShown(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if d, ok := e.(*detailed); ok && d.alone {
			return false
		}
		if _, ok := e.(*shown); ok {
			return true
		}
	}
	return false
}

// Remote is the error of a status received from another node whose
// Reason (reason, e's message) left out context that its Detail (detail)
// has: it reads detail, and clients are shown reason alone again.
func Remote(e *Error, detail string) error {
	return &remote{alone: &detailed{base: e, alone: true}, detail: detail}
}

type remote struct {
	alone  *detailed
	detail string
}

func (r *remote) Error() string { return r.detail }
func (r *remote) Unwrap() error { return r.alone }

// ServiceNotReady is ErrServiceNotReady of a node still in state (e.g.
// "Initializing"), rendered as Milvus's merr.WrapErrServiceNotReady:
// "service not ready[<role>=<id>]: <state>".
func ServiceNotReady(role string, id int64, state string) error {
	return &detailed{base: ErrServiceNotReady, detail: fmt.Sprintf("[%s=%d]: %s", role, id, state)}
}

// InvalidParameter is ErrParameterInvalid with a reason a user can act on,
// rendered as Milvus does: "<reason>: invalid parameter".
func InvalidParameter(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrParameterInvalid)
}

// ImportFailed is ErrImportFailed with a reason, as merr.WrapErrImportFailed
// renders it: "<reason>: importing data failed".
func ImportFailed(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrImportFailed)
}

// InvalidParameterValue is merr.WrapErrParameterInvalid: "invalid
// parameter[expected=...][actual=...]", behind the reason when there is
// one ("<reason>: invalid parameter[...]", as errors.Wrap puts it).
func InvalidParameterValue(expected, actual any, reason ...string) error {
	return &detailed{base: ErrParameterInvalid, detail: fmt.Sprintf("[expected=%v][actual=%v]", expected, actual), reason: strings.Join(reason, "->")}
}
