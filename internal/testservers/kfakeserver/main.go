// Command kfakeserver runs franz-go's kfake (an in-memory implementation of
// the Kafka protocol with several brokers sharing one cluster state) as a
// server process of its own, for the tests that need Kafka as a separate
// process: internal/testservers.StartKafka builds and starts it. It is a
// test-only program, never linked into milvago.
//
//	kfakeserver -ports 9092,9093,9094 [-data DIR]
//
// listens on 127.0.0.1 (kfake binds loopback only) at each port (one broker per port), keeps its state
// under DIR when given (reloaded at the next start), and runs until SIGTERM
// or SIGINT, when it shuts down cleanly.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	portsFlag := flag.String("ports", "", "comma-separated ports on 127.0.0.1, one broker each (required)")
	dataDir := flag.String("data", "", "directory of the persisted state (empty: memory only)")
	flag.Parse()
	if err := run(*portsFlag, *dataDir); err != nil {
		fmt.Fprintln(os.Stderr, "kfakeserver:", err)
		os.Exit(1)
	}
}

func run(portsFlag, dataDir string) error {
	var ports []int
	for _, s := range strings.Split(portsFlag, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("-ports %q: bad port %q", portsFlag, s)
		}
		ports = append(ports, p)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(len(ports)),
		kfake.Ports(ports...),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	slog.Info("kafka brokers listening", "addrs", strings.Join(c.ListenAddrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	slog.Info("shutting down", "signal", s.String())
	c.Close()
	return nil
}
