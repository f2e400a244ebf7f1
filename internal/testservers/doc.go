// Package testservers starts real storage servers as child processes for
// tests: an etcd cluster (StartEtcd), a NATS JetStream cluster (StartNATS),
// a Kafka cluster (StartKafka) and an S3 server (StartS3, versitygw with its
// posix backend). Each listens on 127.0.0.1 with free ports, keeps its data
// in the test's temporary directory, is ready when the Start function
// returns, and is stopped when the test ends (t.Cleanup). A member can be
// killed with SIGKILL and restarted on the same ports and data
// (Process.Kill, Process.Restart), for fault tests.
//
// The servers are separate programs found through an environment variable
// or PATH (see Binary):
//
//	MILVAGO_ETCD_BIN  etcd         go build -o DIR/etcd go.etcd.io/etcd/server/v3
//	MILVAGO_NATS_BIN  nats-server  go build -o DIR/nats-server github.com/nats-io/nats-server/v2
//	MILVAGO_S3_BIN    versitygw    GOBIN=DIR go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// (the first two from within this module, so that they are the versions in
// go.mod). StartKafka needs nothing installed: it runs franz-go's kfake as a
// process of its own (the test-only program ./kfakeserver, built with go
// build unless MILVAGO_KAFKA_BIN names it), since no Kafka server can be
// installed here. When a binary is missing the test is skipped, unless CI=true, in
// which case it fails: CI must not pass by skipping. .ci/run builds all
// three and exports the variables.
//
// Every function that takes a testing.TB calls t.Fatal on error, so call
// it from the test's goroutine. A server's output goes to <name>.log in its
// directory; when the test has failed, the end of each log is written to
// the test log at cleanup.
package testservers
