package rerank

import (
	"fmt"

	"github.com/milvago/milvago/internal/errs"
)

// errPlain is an error Milvus's rerank package returns with fmt.Errorf: on
// the wire it has code 65535 and exactly this message.
func errPlain(format string, args ...any) error {
	return &errs.Error{Code: errs.ErrUnexpected.Code, Msg: fmt.Sprintf(format, args...)}
}

// paramError is merr.WrapErrParameterInvalid and WrapErrParameterInvalidMsg:
// "<reason>: invalid parameter[fields]" with code 1100.
type paramError struct{ reason, fields string }

func (e *paramError) Error() string {
	if e.reason == "" {
		return errs.ErrParameterInvalid.Msg + e.fields
	}
	return e.reason + ": " + errs.ErrParameterInvalid.Msg + e.fields
}

func (e *paramError) Unwrap() error { return errs.ErrParameterInvalid }

func errInvalidValue(expected, actual any, reason string) error {
	return &paramError{reason: reason, fields: fmt.Sprintf("[expected=%v][actual=%v]", expected, actual)}
}

func errInvalidMsg(format string, args ...any) error {
	return &paramError{reason: fmt.Sprintf(format, args...)}
}
