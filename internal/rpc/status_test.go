package rpc

import (
	"fmt"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/errs"
)

// TestStatusOfLegacyCode checks the deprecated error_code old SDKs branch
// on, as Milvus's merr.oldCode sets it.
func TestStatusOfLegacyCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want commonpb.ErrorCode
	}{
		{nil, commonpb.ErrorCode_Success},
		{fmt.Errorf("insert: %w", errs.ErrCollectionSchemaMismatch), commonpb.ErrorCode_SchemaMismatch},
		{errs.ErrCollectionNotFound, commonpb.ErrorCode_CollectionNotExists},
		{errs.ErrParameterMissing, commonpb.ErrorCode_IllegalArgument},
		{errs.ErrParameterTooLarge, commonpb.ErrorCode_IllegalArgument},
		{errs.ErrPartitionNotFound, commonpb.ErrorCode_MetaFailed},
		{errs.ErrServiceInternal, commonpb.ErrorCode_UnexpectedError},
		{fmt.Errorf("plain"), commonpb.ErrorCode_UnexpectedError},
	} {
		st := StatusOf(tc.err)
		if st.GetErrorCode() != tc.want {
			t.Errorf("StatusOf(%v).ErrorCode = %v, want %v", tc.err, st.GetErrorCode(), tc.want)
		}
	}
	if st := StatusOf(errs.ErrCollectionSchemaMismatch); st.GetCode() != 109 {
		t.Errorf("code = %d, want 109", st.GetCode())
	}
}
