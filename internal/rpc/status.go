// Package rpc is the only place that speaks gRPC: it serves Milvus's public
// MilvusService on top of the proxy, turns Go errors into Milvus statuses
// (once, here), recovers panics and records per-RPC metrics in one
// interceptor, and serves /healthz and /metrics over HTTP.
package rpc

import (
	"errors"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/milvago/milvago/internal/errs"
)

// StatusOf converts an error into the status Milvus clients expect: the
// new-style code, the legacy error_code, the reason and the retriable flag.
// The reason is errs.Reason's (Milvus's text alone for a quota refusal);
// the detail is the whole chain, as Milvus's merr.Status fills them.
func StatusOf(err error) *commonpb.Status {
	if err == nil {
		return &commonpb.Status{ErrorCode: commonpb.ErrorCode_Success}
	}
	code := errs.CodeOf(err)
	return &commonpb.Status{
		Code:      code,
		ErrorCode: legacyCode(err),
		Reason:    errs.Reason(err),
		Detail:    err.Error(),
		Retriable: errs.IsRetriable(err),
	}
}

// legacyCode maps to the deprecated commonpb.ErrorCode as Milvus's
// merr.oldCode does: old clients (the Node SDK among them) still branch on
// it, e.g. the Node SDK redoes an insert after SchemaMismatch.
func legacyCode(err error) commonpb.ErrorCode {
	switch {
	case errors.Is(err, errs.ErrServiceNotReady):
		return commonpb.ErrorCode_NotReadyServe
	case errors.Is(err, errs.ErrCollectionNotFound):
		return commonpb.ErrorCode_CollectionNotExists
	case errors.Is(err, errs.ErrParameterInvalid), errors.Is(err, errs.ErrParameterMissing),
		errors.Is(err, errs.ErrParameterTooLarge):
		return commonpb.ErrorCode_IllegalArgument
	case errors.Is(err, errs.ErrPartitionNotFound):
		return commonpb.ErrorCode_MetaFailed
	case errors.Is(err, errs.ErrServiceRateLimit):
		return commonpb.ErrorCode_RateLimit
	case errors.Is(err, errs.ErrServiceQuotaExceeded):
		return commonpb.ErrorCode_ForceDeny
	case errors.Is(err, errs.ErrIndexNotFound):
		return commonpb.ErrorCode_IndexNotExist
	case errors.Is(err, errs.ErrSegmentNotFound):
		return commonpb.ErrorCode_SegmentNotFound
	case errors.Is(err, errs.ErrServiceMemoryLimitExceeded):
		return commonpb.ErrorCode_InsufficientMemoryToLoad
	case errors.Is(err, errs.ErrCollectionSchemaMismatch):
		return commonpb.ErrorCode_SchemaMismatch
	}
	return commonpb.ErrorCode_UnexpectedError
}

// setStatus fills the "status" field every Milvus response message has.
func setStatus(m proto.Message, st *commonpb.Status) {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("status")
	if fd == nil || fd.Kind() != protoreflect.MessageKind {
		return
	}
	r.Set(fd, protoreflect.ValueOfMessage(st.ProtoReflect()))
}

// ErrorOf turns a status received from an internal service back into an
// error with the same Milvus code, message and retriable flag (it matches
// the catalogue sentinel with errors.Is); a success status is nil.
func ErrorOf(st *commonpb.Status) error {
	if st.GetCode() == 0 && (st.GetErrorCode() == commonpb.ErrorCode_Success) {
		return nil
	}
	code := st.GetCode()
	if code == 0 {
		code = errs.ErrUnexpected.Code
	}
	e := &errs.Error{Code: code, Msg: st.GetReason(), Retriable: st.GetRetriable()}
	if d := st.GetDetail(); d != "" && d != e.Msg {
		// The reason left context out (errs.Reason): keep it for the log.
		return errs.Remote(e, d)
	}
	return e
}
