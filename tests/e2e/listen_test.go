package e2e

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// TestListenAddress: with the bind address (`milvago.listen`, `--listen`)
// set to 127.0.0.1 the API and metrics ports answer on loopback only; with
// none (the default, as Milvus) they answer on every interface.
func TestListenAddress(t *testing.T) {
	other := nonLoopbackIPv4(t)
	for _, tc := range []struct {
		listen     string
		otherOpens bool
	}{{"127.0.0.1", false}, {"", true}} {
		t.Run("listen="+tc.listen, func(t *testing.T) {
			cfg := app.DefaultStandalone()
			cfg.DataDir = t.TempDir()
			cfg.Port, cfg.MetricsPort = freePort(t), freePort(t)
			cfg.Public.Listen = tc.listen
			ctx, cancel := context.WithCancel(context.Background())
			s, err := app.NewStandalone(ctx, cfg, nil)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			defer func() {
				cancel()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
				}
			}()
			(&server{httpURL: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.MetricsPort)), done: done}).waitReady(t, time.Minute)
			api := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
			cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
			defer ccancel()
			cli, err := milvusclient.New(cctx, &milvusclient.ClientConfig{Address: api})
			if err != nil {
				t.Fatalf("connect on loopback: %v", err)
			}
			defer cli.Close(context.Background())
			if _, err := cli.ListCollections(cctx, milvusclient.NewListCollectionOption()); err != nil {
				t.Fatalf("list collections on loopback: %v", err)
			}
			if other == "" {
				t.Skip("no non-loopback IPv4 address on this host: the other interface is not checked")
			}
			for _, port := range []int{cfg.Port, cfg.MetricsPort} {
				c, err := net.DialTimeout("tcp", net.JoinHostPort(other, strconv.Itoa(port)), 2*time.Second)
				if err == nil {
					c.Close()
				}
				if opened := err == nil; opened != tc.otherOpens {
					t.Errorf("port %d on %s: connected %v, want %v (%v)", port, other, opened, tc.otherOpens, err)
				}
			}
		})
	}
}

func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
