// Package modelservicepb holds the generated code of Milvus's model service
// protocol (proto/modelservice): the zilliz provider's embedding, rerank
// and highlight clients.
package modelservicepb

//go:generate sh -c "cd ../../.. && protoc -I proto/modelservice --go_out=. --go_opt=module=github.com/milvago/milvago --go-grpc_out=. --go-grpc_opt=module=github.com/milvago/milvago proto/modelservice/model_service.proto"
