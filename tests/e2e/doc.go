// Package e2e drives a real Milvago server with the official Milvus Go SDK
// (github.com/milvus-io/milvus/client/v2), exactly as a user would.
//
// Most tests start a standalone server in-process on loopback ports with a
// fresh data directory; the durability test runs it as a child process so
// that it can be killed with SIGKILL.
package e2e
