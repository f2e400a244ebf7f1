package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

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

// A quota refusal wrapped in Milvago's context (the meta store's, refused
// on a full disk) reaches the client as Milvus's text alone, code 9; the
// context stays in the detail, across an internal hop too, and is logged.
func TestStatusOfQuotaRefusalShowsMilvusText(t *testing.T) {
	const want = "quota exceeded[reason=disk quota exceeded, please allocate more resources: the meta store's disk is full]"
	err := fmt.Errorf("rootcoord: save collection %q: %w", "x",
		fmt.Errorf("kv: put %q: %w", "coll/1", errs.QuotaExceeded("disk quota exceeded, please allocate more resources: the meta store's disk is full")))
	st := StatusOf(err)
	if st.GetCode() != 9 || st.GetReason() != want || st.GetDetail() != err.Error() || st.GetErrorCode() != commonpb.ErrorCode_ForceDeny {
		t.Fatalf("status %v, want code 9, reason %q, detail %q", st, want, err.Error())
	}
	// Through a coordinator's status to the proxy and on to the client.
	remote := ErrorOf(st)
	if !errors.Is(remote, errs.ErrServiceQuotaExceeded) || remote.Error() != err.Error() {
		t.Fatalf("ErrorOf: %v, want the whole chain, matching ErrServiceQuotaExceeded", remote)
	}
	wrapped := fmt.Errorf("proxy: create collection: %w", remote)
	if st2 := StatusOf(wrapped); st2.GetReason() != want || st2.GetCode() != 9 || st2.GetDetail() != wrapped.Error() {
		t.Fatalf("status after a hop: %v", st2)
	}
	// Other errors keep their whole text as the reason.
	other := fmt.Errorf("describe %q: %w", "x", errs.ErrCollectionNotFound)
	if st := StatusOf(other); st.GetReason() != other.Error() {
		t.Fatalf("reason %q, want %q", st.GetReason(), other.Error())
	}
	if e := ErrorOf(StatusOf(other)); e.Error() != other.Error() {
		t.Fatalf("ErrorOf: %q", e)
	}

	var buf bytes.Buffer
	s := &Server{logger: slog.New(slog.NewTextHandler(&buf, nil))}
	s.logContext("CreateCollection", st)
	s.logContext("CreateCollection", st) // within the second: not logged again
	s.logContext("Describe", StatusOf(other))
	if got := buf.String(); strings.Count(got, "request refused") != 1 || !strings.Contains(got, `rootcoord: save collection \"x\"`) {
		t.Fatalf("log:\n%s\nwant one line with the context", got)
	}
}

// TestRequestMetricByMilvusCode: the requests counter labels a call by the
// Milvus code of its response, whether the response is a bare Status or
// carries one (it labelled every call "ok" while the second kind went
// unmatched).
func TestRequestMetricByMilvusCode(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewUnbound(Config{}, reg, func() error { return nil }, slog.New(slog.DiscardHandler))
	info := &grpc.UnaryServerInfo{FullMethod: milvusServicePrefix + "DescribeCollection"}
	for _, resp := range []any{
		&milvuspb.DescribeCollectionResponse{Status: StatusOf(errs.ErrCollectionNotFound)},
		StatusOf(errs.ErrCollectionNotFound),
		&milvuspb.DescribeCollectionResponse{Status: StatusOf(nil)},
	} {
		if _, err := s.intercept(context.Background(), nil, info, func(context.Context, any) (any, error) { return resp, nil }); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "milvago_proxy_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" {
					got[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{fmt.Sprint(errs.ErrCollectionNotFound.Code): 2, "ok": 1}
	if !maps.Equal(got, want) {
		t.Errorf("requests by code = %v, want %v", got, want)
	}
}
