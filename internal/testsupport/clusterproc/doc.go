// Package clusterproc starts a Milvago cluster for tests: real etcd, NATS
// (or Kafka) and S3 servers (internal/testservers) and every role as its
// own `milvago run ROLE` process on loopback. tests/cluster drives it
// directly; tests/e2e runs its SDK flows against one when
// MILVAGO_E2E_CLUSTER=1 (docs/cluster.md).
//
// Everything takes a testing.TB: a test's *testing.T, or a MainTB for a
// cluster shared by the whole package (started from TestMain).
package clusterproc
