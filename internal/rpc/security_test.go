package rpc

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/milvago/milvago/internal/proxy"
	"github.com/milvago/milvago/internal/testcerts"
)

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startServer serves a Server with cfg on loopback; it returns the API
// and metrics addresses and the API listener's accept count.
func startServer(t *testing.T, cfg Config) (api, metrics string, accepted *countingListener) {
	t.Helper()
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: gl}
	cfg.REST = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "rest "+r.URL.Path) })
	svc := NewService(proxy.New(proxy.Default(), proxy.Deps{}), "STANDALONE")
	srv := New(cfg, svc, prometheus.NewRegistry(), func() error { return nil }, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, cl, hl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return gl.Addr().String(), hl.Addr().String(), cl
}

func getVersion(ctx context.Context, addr string, opts ...grpc.DialOption) error {
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = milvuspb.NewMilvusServiceClient(conn).GetVersion(ctx, &milvuspb.GetVersionRequest{})
	return err
}

// TestTLSModes: mode 1 serves gRPC and REST over TLS on one port and
// refuses plain clients; mode 2 also refuses clients without a certificate
// from the CA.
func TestTLSModes(t *testing.T) {
	files, err := testcerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	trust, _ := files.ClientTLS(false)
	withCert, _ := files.ClientTLS(true)

	t.Run("server", func(t *testing.T) {
		cfg, err := ServerTLS(TLSServer, files.ServerCert, files.ServerKey, "")
		if err != nil {
			t.Fatal(err)
		}
		addr, _, _ := startServer(t, Config{TLS: cfg})
		if err := getVersion(ctx, addr, grpc.WithTransportCredentials(credentials.NewTLS(trust))); err != nil {
			t.Fatalf("TLS client: %v", err)
		}
		short, c2 := context.WithTimeout(ctx, 3*time.Second)
		defer c2()
		if err := getVersion(short, addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err == nil {
			t.Fatal("a plain client was served")
		}
		// REST over HTTPS, HTTP/1.1 and HTTP/2 offered (as curl does).
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: trust.Clone(), ForceAttemptHTTP2: true}}
		resp, err := hc.Post("https://"+addr+"/v2/vectordb/collections/list", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "rest /v2/vectordb/collections/list" || resp.ProtoMajor != 1 {
			t.Fatalf("REST over TLS: %s %q", resp.Proto, body)
		}
		if _, err := http.Post("http://"+addr+"/v2/vectordb/collections/list", "application/json", strings.NewReader("{}")); err == nil {
			t.Fatal("plain REST was served")
		}
	})

	t.Run("mutual", func(t *testing.T) {
		cfg, err := ServerTLS(TLSMutual, files.ServerCert, files.ServerKey, files.CA)
		if err != nil {
			t.Fatal(err)
		}
		addr, _, _ := startServer(t, Config{TLS: cfg})
		if err := getVersion(ctx, addr, grpc.WithTransportCredentials(credentials.NewTLS(withCert))); err != nil {
			t.Fatalf("client with a certificate: %v", err)
		}
		short, c2 := context.WithTimeout(ctx, 3*time.Second)
		defer c2()
		if err := getVersion(short, addr, grpc.WithTransportCredentials(credentials.NewTLS(trust))); err == nil {
			t.Fatal("a client without a certificate was served")
		}
		stranger := trust.Clone()
		c, err := tls.LoadX509KeyPair(files.OtherClientCert, files.OtherClientKey)
		if err != nil {
			t.Fatal(err)
		}
		stranger.Certificates = []tls.Certificate{c}
		short2, c3 := context.WithTimeout(ctx, 3*time.Second)
		defer c3()
		if err := getVersion(short2, addr, grpc.WithTransportCredentials(credentials.NewTLS(stranger))); err == nil {
			t.Fatal("a client with another CA's certificate was served")
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: withCert.Clone()}}
		resp, err := hc.Post("https://"+addr+"/v2/x", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: trust.Clone()}}
		if resp, err := hc.Post("https://"+addr+"/v2/x", "application/json", strings.NewReader("{}")); err == nil {
			resp.Body.Close()
			t.Fatal("REST without a client certificate was served")
		}
	})
}

func TestServerTLSErrors(t *testing.T) {
	if cfg, err := ServerTLS(TLSOff, "", "", ""); cfg != nil || err != nil {
		t.Fatalf("mode 0: %v %v", cfg, err)
	}
	if _, err := ServerTLS(TLSServer, "/nope.pem", "/nope.key", ""); err == nil || !strings.Contains(err.Error(), "tls.serverPemPath") {
		t.Fatalf("missing files: %v", err)
	}
	files, err := testcerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ServerTLS(TLSMutual, files.ServerCert, files.ServerKey, files.ServerKey); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a key as CA: %v", err)
	}
	if _, err := ServerTLS(3, files.ServerCert, files.ServerKey, ""); err == nil {
		t.Fatal("mode 3 accepted")
	}
}

// TestKeepalivePings: a client pinging every 5 s on an idle connection, as
// the Milvus SDKs do (grpc-go raises it to its floor of 10 s), keeps its
// one connection; grpc-go's default policy answers the third ping with
// GOAWAY too_many_pings (after about 30 s) and the client reconnects.
func TestKeepalivePings(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for 45 s")
	}
	idle := 45 * time.Second
	addr, _, accepted := startServer(t, Config{})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 5 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), idle+30*time.Second)
	defer cancel()
	cli := milvuspb.NewMilvusServiceClient(conn)
	if _, err := cli.GetVersion(ctx, &milvuspb.GetVersionRequest{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(idle)
	if _, err := cli.GetVersion(ctx, &milvuspb.GetVersionRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := accepted.n.Load(); n != 1 {
		t.Fatalf("%d connections for one idle client pinging every 5 s: the server closed it", n)
	}
}

// TestMetricsEndpoints: /healthz and /metrics answer GET and HEAD only;
// /debug/pprof exists only when enabled.
func TestMetricsEndpoints(t *testing.T) {
	_, metrics, _ := startServer(t, Config{})
	for _, path := range []string{"/healthz", "/metrics"} {
		for method, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 405, "PUT": 405, "DELETE": 405} {
			req, _ := http.NewRequest(method, "http://"+metrics+path, strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
			}
		}
	}
	resp, err := http.Get("http://" + metrics + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("pprof off: %d", resp.StatusCode)
	}
	_, metrics, _ = startServer(t, Config{Pprof: true})
	resp, err = http.Get("http://" + metrics + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("pprof on: %d", resp.StatusCode)
	}
}
