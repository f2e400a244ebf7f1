package testservers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaCluster is a Kafka cluster of n brokers served by one separate
// process: franz-go's kfake (the Kafka protocol implemented in memory, with
// a data directory for persistence) run by the test-only program
// internal/testservers/kfakeserver. No real Kafka server can be installed
// here; kfake is the closest independent implementation, and as a process
// of its own it is reached over TCP exactly as a Kafka cluster is.
type KafkaCluster struct {
	*Process
	// Brokers are the brokers' addresses, "127.0.0.1:PORT", the form
	// kafka.brokerList and logbroker.KafkaConfig.Brokers take.
	Brokers []string
}

// BrokerList returns the brokers joined by commas.
func (c *KafkaCluster) BrokerList() string { return strings.Join(c.Brokers, ",") }

// StartKafka starts an n-broker Kafka cluster (kfakeserver, from
// MILVAGO_KAFKA_BIN if set, otherwise built from this module with go build
// into the test's temporary directory) with its state under the test's
// temporary directory, and returns once every broker answers a Kafka
// request. Restart brings it back on the same ports with the same state.
func StartKafka(t testing.TB, n int) *KafkaCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("kafka cluster of %d brokers", n)
	}
	dir := t.TempDir()
	bin := os.Getenv("MILVAGO_KAFKA_BIN")
	if bin == "" {
		bin = buildKfake(t, dir)
	}
	c := &KafkaCluster{}
	var ports []string
	for range n {
		p := FreePort(t)
		ports = append(ports, strconv.Itoa(p))
		c.Brokers = append(c.Brokers, fmt.Sprintf("127.0.0.1:%d", p))
	}
	args := []string{"-ports", strings.Join(ports, ","), "-data", filepath.Join(dir, "data")}
	c.Process = newProcess(t, "kafka", dir, bin, args, func(ctx context.Context) error {
		for _, b := range c.Brokers {
			if err := pingKafka(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	start := time.Now()
	startAll(t, []*Process{c.Process})
	t.Logf("kafka (kfake, %d brokers) ready in %v: %s", n, time.Since(start).Round(time.Millisecond), c.BrokerList())
	return c
}

// buildKfake builds kfakeserver into dir and returns its path.
func buildKfake(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "kfakeserver")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/milvago/milvago/internal/testservers/kfakeserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build kfakeserver (or set MILVAGO_KAFKA_BIN): %v\n%s", err, out)
	}
	return bin
}

// pingKafka sends one request (ApiVersions and Metadata) to broker alone.
func pingKafka(ctx context.Context, broker string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka broker %s: %w", broker, err)
	}
	return nil
}
