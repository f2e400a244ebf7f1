package rpc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/errs"
)

// TestNotReadyAnswers: while the server starts, each Milvus API method is
// answered with its own response type carrying Milvus's "service not
// ready" status (code 1, retriable), and the REST API with code 1.
func TestNotReadyAnswers(t *testing.T) {
	state := errs.ServiceNotReady("standalone", 1, "Initializing")
	const want = "service not ready[standalone=1]: Initializing"
	resp, err := notReady(milvusServicePrefix+"Connect", state)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := resp.(*milvuspb.ConnectResponse)
	if !ok {
		t.Fatalf("Connect answered with a %T", resp)
	}
	if st := c.GetStatus(); st.GetCode() != 1 || st.GetErrorCode() != commonpb.ErrorCode_NotReadyServe || !st.GetRetriable() || st.GetReason() != want {
		t.Fatalf("Connect's status: %v", st)
	}
	resp, err = notReady(milvusServicePrefix+"CreateCollection", state)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := resp.(*commonpb.Status); !ok || st.GetCode() != 1 || st.GetReason() != want {
		t.Fatalf("CreateCollection answered %T %v", resp, resp)
	}
	resp, err = notReady(milvusServicePrefix+"Search", errs.ErrServiceUnavailable) // any error becomes "not ready"
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.(*milvuspb.SearchResults).GetStatus(); st.GetCode() != 1 {
		t.Fatalf("Search's status: %v", st)
	}
	if _, err := notReady(milvusServicePrefix+"NoSuchMethod", state); err == nil {
		t.Fatal("an unknown method got an answer")
	}

	h := restNotReady(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("served")) }), func() error { return state })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/vectordb/collections/list", nil))
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `"code":1`) || !strings.Contains(body, want) {
		t.Fatalf("REST while starting: %d %s", rec.Code, body)
	}
	h = restNotReady(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("served")) }), func() error { return nil })
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/vectordb/collections/list", nil))
	if rec.Body.String() != "served" {
		t.Fatalf("REST when ready: %s", rec.Body.String())
	}
}
