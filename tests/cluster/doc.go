// Package cluster runs Milvago as a cluster on loopback: real etcd, NATS
// JetStream and S3 servers (internal/testservers) and every role of
// `milvago run ROLE` as its own OS process, each talking gRPC and finding
// the others through etcd sessions. Tests drive it with the official Go
// SDK through each proxy, and kill processes with SIGKILL.
package cluster
