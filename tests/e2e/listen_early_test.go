package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/testcerts"
)

// TestListenWhileStoresOpen: the API of a standalone started by
// StartStandalone (as `milvago standalone` starts) listens before its
// stores are open. While they open (held 5 s by the app.openStores
// failpoint) the Go SDK's connection and a raw Connect get Milvus's
// "service not ready" (code 1), REST code 1 and /healthz 503, in plain
// and TLS (tlsMode 1) alike; once ready, both APIs serve.
func TestListenWhileStoresOpen(t *testing.T) {
	standaloneOnly(t, "starts an in-process standalone with a failpoint")
	t.Setenv(failpoint.EnvVar, "app.openStores=sleep(5s)")
	files, err := testcerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	trust, err := files.ClientTLS(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []int{0, 1} {
		t.Run("tlsMode"+strconv.Itoa(mode), func(t *testing.T) {
			cfg := app.DefaultStandalone()
			cfg.DataDir = t.TempDir()
			cfg.Port, cfg.MetricsPort = freePort(t), freePort(t)
			cfg.Public.Listen = "127.0.0.1"
			var clientTLS *tls.Config
			if mode == 1 {
				cfg.Public.TLSMode = mode
				cfg.Public.TLS = config.TLS{ServerPemPath: files.ServerCert, ServerKeyPath: files.ServerKey, CAPemPath: files.CA}
				clientTLS = trust
			}
			gl, hl, err := app.ListenStandalone(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			start := time.Now()
			started := make(chan *app.Standalone, 1)
			done := make(chan error, 1)
			go func() {
				s, err := app.StartStandalone(ctx, cfg, gl, hl, nil)
				if err != nil {
					done <- err
					return
				}
				started <- s
				done <- s.Serve(ctx, gl, hl)
			}()
			defer func() {
				cancel()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Error("the standalone did not stop within 30 s")
				}
			}()
			api := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
			httpURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.MetricsPort))

			// The stores are still opening (the failpoint holds them 5 s).
			raw := earlyRawClient(t, api, clientTLS)
			cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
			resp, err := raw.Connect(cctx, &milvuspb.ConnectRequest{})
			ccancel()
			if err != nil {
				t.Fatalf("Connect while the stores open: %v", err)
			}
			if c := resp.GetStatus().GetCode(); c != 1 || !strings.Contains(resp.GetStatus().GetReason(), "not ready") {
				t.Fatalf("Connect while the stores open: code %d %q, want 1 service not ready", c, resp.GetStatus().GetReason())
			}
			t.Logf("starting: the API answered code %d (%q) after %v", resp.GetStatus().GetCode(), resp.GetStatus().GetReason(),
				time.Since(start).Round(time.Millisecond))
			sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
			if c, err := earlySDK(sctx, api, clientTLS); err == nil {
				c.Close(ctx)
				t.Fatal("the Go SDK connected while the stores open, want service not ready")
			} else if !strings.Contains(err.Error(), "not ready") {
				t.Fatalf("the Go SDK while the stores open: %v, want service not ready", err)
			}
			scancel()
			if code, msg := earlyREST(t, api, clientTLS); code != 1 || !strings.Contains(msg, "not ready") {
				t.Fatalf("REST while the stores open: code %d %q, want 1 service not ready", code, msg)
			}
			if r, err := http.Get(httpURL + "/healthz"); err != nil {
				t.Fatalf("/healthz while the stores open: %v", err)
			} else if r.Body.Close(); r.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/healthz while the stores open: HTTP %d, want 503", r.StatusCode)
			}
			select {
			case <-started:
				t.Fatalf("the stores opened within %v, before the failpoint's 5 s: the checks above did not run while they opened", time.Since(start))
			default:
			}

			// Then ready: both APIs serve, on the same listeners.
			(&server{httpURL: httpURL, done: done}).waitReady(t, time.Minute)
			t.Logf("ready after %v", time.Since(start).Round(time.Millisecond))
			cli, err := earlySDK(testContext(t), api, clientTLS)
			if err != nil {
				t.Fatalf("the Go SDK once ready: %v", err)
			}
			defer cli.Close(context.Background())
			if _, err := cli.ListCollections(testContext(t), milvusclient.NewListCollectionOption()); err != nil {
				t.Fatalf("list collections once ready: %v", err)
			}
			if code, msg := earlyREST(t, api, clientTLS); code != 0 {
				t.Fatalf("REST once ready: code %d %q, want 0", code, msg)
			}
		})
	}
}

// earlyRawClient is a generated Milvus client to addr, over TLS if cfg.
func earlyRawClient(t *testing.T, addr string, cfg *tls.Config) milvuspb.MilvusServiceClient {
	t.Helper()
	creds := insecure.NewCredentials()
	if cfg != nil {
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return milvuspb.NewMilvusServiceClient(conn)
}

// earlySDK connects the Go SDK to addr, over TLS if cfg.
func earlySDK(ctx context.Context, addr string, cfg *tls.Config) (*milvusclient.Client, error) {
	if cfg != nil {
		return sdkTLS(ctx, addr, cfg)
	}
	return milvusclient.New(ctx, &milvusclient.ClientConfig{Address: addr})
}

// earlyREST lists the collections through the RESTful API on addr (https
// if cfg) and returns Milvus's code and message.
func earlyREST(t *testing.T, addr string, cfg *tls.Config) (int, string) {
	t.Helper()
	scheme, hc := "http", http.DefaultClient
	if cfg != nil {
		scheme, hc = "https", &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	resp, err := hc.Post(scheme+"://"+addr+"/v2/vectordb/collections/list", "application/json", bytes.NewBufferString(`{}`))
	if err != nil {
		t.Fatalf("REST: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("REST: decode: %v", err)
	}
	return out.Code, out.Message
}
