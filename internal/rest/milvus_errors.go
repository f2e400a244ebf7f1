package rest

import (
	"fmt"

	"github.com/milvago/milvago/internal/errs"
)

// paramInvalid is merr.WrapErrParameterInvalid(expected, actual, msg) as
// Milvus's REST handler answers it: code 1100,
// "<msg>: invalid parameter[expected=<expected>][actual=<actual>]".
func paramInvalid(expected, actual any, msg string) error {
	return &errs.Error{Code: errs.ErrParameterInvalid.Code,
		Msg: fmt.Sprintf("%s: %s[expected=%v][actual=%v]", msg, errs.ErrParameterInvalid.Msg, expected, actual)}
}

// paramInvalidText is code 1100 with a text Milvus's REST handler writes
// out whole (such as "invalid parameter, data type X is invalid(case
// sensitive).").
func paramInvalidText(format string, args ...any) error {
	return &errs.Error{Code: errs.ErrParameterInvalid.Code, Msg: fmt.Sprintf(format, args...)}
}

// consistencyErr is the answer of query, get, search and hybrid_search to
// an unknown consistency level (handler_v2.go:1086, utils.go:1832).
func consistencyErr(name string) error {
	return paramInvalidText("consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded, err:parameter:'%s' is incorrect, please check it: invalid parameter", name)
}

// jsonTypeName is %T of a value encoding/json decoded into an interface{}
// without UseNumber, what Milvus's texts print.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "<nil>"
	case bool:
		return "bool"
	case string:
		return "string"
	case []any:
		return "[]interface {}"
	case map[string]any:
		return "map[string]interface {}"
	}
	return "float64"
}
