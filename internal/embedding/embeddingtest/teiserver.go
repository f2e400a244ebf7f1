//go:build ignore

// teiserver runs embeddingtest's model service on a port, for suites run
// against a milvago binary (Milvus's Go SDK suite's -tei_endpoint):
//
//	go run ./internal/embedding/embeddingtest/teiserver.go -addr 127.0.0.1:19780
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dim := flag.Int("dim", 768, "embedding dimension")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := embeddingtest.Listen(l, embeddingtest.Options{Dim: *dim})
	log.Printf("model service at %s", s.URL())
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	<-c
	s.Close()
}
