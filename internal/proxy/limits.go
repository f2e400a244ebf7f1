package proxy

import (
	"fmt"

	"github.com/milvago/milvago/internal/errs"
)

// Milvus 2.6's default limits (pkg/util/paramtable: proxy.*, quotaAndLimits.limits.*,
// rootCoord.*, common.*). Each names the Milvus setting it mirrors; the
// configurable ones are in Limits (limits_config.go).
const (
	// maxNameLength is proxy.maxNameLength: collection, field, partition,
	// database and index names.
	maxNameLength = 255
	// maxDimension is proxy.maxDimension for dense float vectors; binary
	// vectors may have 8 times as many bits.
	maxDimension = 32768
	// minDimension is the smallest dimension Milvus accepts ("should be in range 2 ~ 32768").
	minDimension = 2
	// maxGroupSize is quotaAndLimits.limits.maxGroupSize: the largest group_size of a grouping search.
	maxGroupSize = 10
	// maxFieldNum is proxy.maxFieldNum (the dynamic field is not counted).
	maxFieldNum = 64
	// maxVectorFieldNum is proxy.maxVectorFieldNum.
	maxVectorFieldNum = 10
	// maxShardNum is proxy.maxShardNum.
	maxShardNum = 16
	// defaultShardsNum is common.DefaultShardsNum, used when a request asks for 0 shards.
	defaultShardsNum = 1
	// maxPartitionNum is rootCoord.maxPartitionNum.
	maxPartitionNum = 1024
	// defaultPartitionsWithPartitionKey is common.DefaultPartitionsWithPartitionKey.
	defaultPartitionsWithPartitionKey = 16
	// maxVarCharLength is proxy.maxVarCharLength.
	maxVarCharLength = 65535
	// maxArrayCapacity is proxy's defaultMaxArrayCapacity.
	maxArrayCapacity = 4096
	// maxJSONLength is common.JSONMaxLength: the largest JSON value (and
	// dynamic-field object) of one row, in bytes.
	maxJSONLength = 64 << 10
	// startOfUserFieldID is common.StartOfUserFieldID: user fields are numbered from 100.
	startOfUserFieldID = 100
	// defaultRoundDecimal is the round_decimal of a search that sets none: no rounding.
	defaultRoundDecimal = -1
)

// Names Milvus reserves.
const (
	// metaFieldName is the dynamic field's name (common.MetaFieldName).
	metaFieldName = "$meta"
	// rowIDFieldName and timestampFieldName are Milvus's system fields; a
	// user schema may not use them.
	rowIDFieldName     = "RowID"
	timestampFieldName = "Timestamp"
	// countStar is the output field that turns a query into a count.
	countStar = "count(*)"
)

// errInvalidMsg is merr.WrapErrParameterInvalidMsg: "<reason>: invalid parameter" (1100).
func errInvalidMsg(format string, args ...any) error {
	return errs.Wrap(errs.ErrParameterInvalid, "", fmt.Sprintf(format, args...))
}

// errInvalidValue is merr.WrapErrParameterInvalid:
// "<reason>: invalid parameter[expected=E][actual=A]" (1100).
func errInvalidValue(expected, actual any, reason string) error {
	return errs.Wrap(errs.ErrParameterInvalid, fmt.Sprintf("[expected=%v][actual=%v]", expected, actual), reason)
}

// errInvalidRange is merr.WrapErrParameterInvalidRange:
// "<reason>: invalid parameter[A out of range L <= value <= U]" (1100).
func errInvalidRange(lower, upper, actual any, reason string) error {
	return errs.Wrap(errs.ErrParameterInvalid, fmt.Sprintf("[%v out of range %v <= value <= %v]", actual, lower, upper), reason)
}

// errWithField wraps a catalogue entry with one "[key=value]" field and a reason,
// as merr's WrapErrFieldNameInvalid, WrapErrDatabaseNameInvalid,
// WrapErrCollectionIllegalSchema and friends do.
func errWithField(base *errs.Error, key string, value any, reason string) error {
	return errs.Wrap(base, fmt.Sprintf("[%s=%v]", key, value), reason)
}

// errPlain is an error Milvus returns without a catalogue entry: on the wire
// it has code 65535 (errs.ErrUnexpected) and exactly this message. Milvus
// does this for many schema and search-parameter checks; matching it keeps
// clients' error handling (and their tests) working unchanged.
func errPlain(format string, args ...any) error {
	return &errs.Error{Code: errs.ErrUnexpected.Code, Msg: fmt.Sprintf(format, args...)}
}

// checkRequestSize rejects a write request larger than limit the way
// Milvus rejects one above quotaAndLimits.limits.maxInsertSize:
// "parameter too large[message=insert request size exceeds maxInsertSize]" (1102).
func checkRequestSize(size int, limit int64) error {
	if int64(size) > limit {
		return errWithField(errs.ErrParameterTooLarge, "message", "insert request size exceeds maxInsertSize", "")
	}
	return nil
}
