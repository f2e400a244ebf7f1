package rpc

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestUnboundAnswersNotReady: a server built before its service (NewUnbound)
// answers every Milvus call "service not ready" (code 1) and the RESTful
// API code 1 until Bind, even once its ready check passes (a call that
// slipped between the check and the binding), instead of panicking on the
// missing service.
func TestUnboundAnswersNotReady(t *testing.T) {
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewUnbound(Config{RESTLater: true}, nil, func() error { return nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, gl, hl) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	resp, err := milvuspb.NewMilvusServiceClient(conn).Connect(cctx, &milvuspb.ConnectRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetStatus(); st.GetCode() != 1 || !strings.Contains(st.GetReason(), "not ready") {
		t.Fatalf("Connect before Bind: %v, want code 1 service not ready", st)
	}
	r, err := http.Post("http://"+gl.Addr().String()+"/v2/vectordb/collections/list", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(body), `"code":1`) || !strings.Contains(string(body), "not ready") {
		t.Fatalf("REST before Bind: %s, want code 1 service not ready", body)
	}
}
