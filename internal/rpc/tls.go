package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
)

// TLS modes of common.security.tlsMode, as Milvus.
const (
	TLSOff    = 0 // plain TCP
	TLSServer = 1 // the server proves itself (tls.serverPemPath, tls.serverKeyPath)
	TLSMutual = 2 // and every client shows a certificate signed by tls.caPemPath
)

// ServerTLS builds the TLS configuration of the public API port for Milvus's
// tlsMode: nil for mode 0; for mode 1 the server's certificate and key; for
// mode 2 also the CA that must have signed every client's certificate
// (tls.RequireAndVerifyClientCert, TLS 1.3 at least, as Milvus's proxy).
// gRPC and the RESTful API share the port: a client that offers HTTP/1.1
// by ALPN (curl, browsers, REST SDKs) is answered with HTTP/1.1, any other
// with h2 (gRPC clients offer only h2 and require it).
func ServerTLS(mode int, certFile, keyFile, caFile string) (*tls.Config, error) {
	if mode == TLSOff {
		return nil, nil
	}
	if mode != TLSServer && mode != TLSMutual {
		return nil, fmt.Errorf("rpc: common.security.tlsMode %d: want 0, 1 or 2", mode)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rpc: load the server certificate (tls.serverPemPath %q, tls.serverKeyPath %q): %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if mode == TLSMutual {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("rpc: read tls.caPemPath: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("rpc: tls.caPemPath %q holds no PEM certificate", caFile)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = pool
		cfg.MinVersion = tls.VersionTLS13
	}
	base := cfg
	cfg = base.Clone()
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		if slices.Contains(hello.SupportedProtos, "http/1.1") {
			c.NextProtos = []string{"http/1.1"}
		} else {
			c.NextProtos = []string{"h2"}
		}
		return c, nil
	}
	return cfg, nil
}

// tlsListener wraps l so that every accepted connection speaks TLS; the
// handshake runs on the connection's first read (in the splitter, under
// its sniffing deadline, or in gRPC's server).
func tlsListener(l net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return l
	}
	return tls.NewListener(l, cfg)
}
