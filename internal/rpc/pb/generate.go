// Package pb is the generated Go code of Milvago's internal gRPC services
// (proto/milvago/*.proto) and the conversions between its messages and
// the model and contract types. `make generate` regenerates it with the
// pinned protoc plug-ins (see the Makefile); Milvus's own messages are
// imported through a descriptor set dumped from the milvus-proto Go module
// (tools/protodesc), so the versions always match go.mod.
package pb

//go:generate sh -c "cd ../../.. && go run ./tools/protodesc > proto/milvus/milvus-proto.desc && protoc --descriptor_set_in=proto/milvus/milvus-proto.desc -I proto/milvago --go_out=. --go_opt=module=github.com/milvago/milvago --go-grpc_out=. --go-grpc_opt=module=github.com/milvago/milvago proto/milvago/coord.proto proto/milvago/types.proto proto/milvago/worker.proto proto/milvago/replicas.proto proto/milvago/proxy.proto proto/milvago/node.proto proto/milvago/channels.proto proto/milvago/faults.proto proto/milvago/imports.proto proto/milvago/quota.proto proto/milvago/logend.proto"
