package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/milvago/milvago/internal/errs"
)

// milvusServicePrefix starts the full method name of every Milvus API call.
const milvusServicePrefix = "/milvus.proto.milvus.MilvusService/"

// notReady is the answer of a Milvus API call made while the server is
// still starting (the listener opens before the collections are
// recovered, so that clients and health probes get an answer at once):
// the method's response with Milvus's "service not ready" status (code
// 1, retriable), as Milvus's proxy answers before it is healthy. fullMethod
// is the gRPC method; state is the ready check's error: an
// errs.ServiceNotReady, or any error, which is made one.
func notReady(fullMethod string, state error) (any, error) {
	state = asNotReady(state)
	st := StatusOf(state)
	name := strings.TrimPrefix(fullMethod, milvusServicePrefix)
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName("milvus.proto.milvus.MilvusService")
	if err != nil {
		return nil, fmt.Errorf("rpc: not ready, and the service's descriptor is missing: %w", err)
	}
	m := desc.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(name))
	if m == nil {
		return nil, fmt.Errorf("rpc: not ready, and method %s is unknown", fullMethod)
	}
	if m.Output().FullName() == (&commonpb.Status{}).ProtoReflect().Descriptor().FullName() {
		return st, nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
	if err != nil {
		return nil, fmt.Errorf("rpc: not ready, and the response of %s is unknown: %w", fullMethod, err)
	}
	resp := mt.New()
	f := resp.Descriptor().Fields().ByName("status")
	if f == nil || f.Message() == nil || f.Message().FullName() != st.ProtoReflect().Descriptor().FullName() {
		return nil, state
	}
	resp.Set(f, protoreflect.ValueOfMessage(proto.Clone(st).ProtoReflect()))
	return resp.Interface(), nil
}

// restNotReady answers the RESTful API while the server is starting, as
// its handlers answer a failed call: HTTP 200 with Milvus's code and message.
func restNotReady(h http.Handler, ready func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ready(); err != nil {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"code": errs.ErrServiceNotReady.Code, "message": asNotReady(err).Error()})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// asNotReady is err if it is an ErrServiceNotReady, else err wrapping it.
func asNotReady(err error) error {
	if errors.Is(err, errs.ErrServiceNotReady) {
		return err
	}
	return fmt.Errorf("%s: %w", err.Error(), errs.ErrServiceNotReady)
}
