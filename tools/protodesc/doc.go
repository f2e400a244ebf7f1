// Command protodesc writes a FileDescriptorSet of milvus-proto's
// common.proto, schema.proto and msg.proto (and their imports), taken from
// the milvus-proto Go module in go.mod, so that protoc can compile
// proto/milvago/*.proto against exactly the messages the binary links.
package main
