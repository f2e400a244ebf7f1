package coordrpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

type withStatus interface{ GetStatus() *commonpb.Status }

// Check turns a unary call's outcome into the callee's error: a transport
// failure is errs.ErrServiceUnavailable (retriable), a cancelled or expired
// context is the context's error, else the response status's error.
func Check(service string, resp withStatus, err error) error {
	if err != nil {
		return TransportError(service, err)
	}
	return rpc.ErrorOf(resp.GetStatus())
}

// TransportError classifies a gRPC call failure.
func TransportError(service string, err error) error {
	switch status.Code(err) {
	case codes.Canceled:
		return fmt.Errorf("%s: %w", service, context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", service, context.DeadlineExceeded)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// A call refused before its handler ran (fencing) carries its Milvus
	// status in the gRPC status's details.
	for _, d := range status.Convert(err).Details() {
		if st, ok := d.(*commonpb.Status); ok {
			return fmt.Errorf("%s: %w", service, rpc.ErrorOf(st))
		}
	}
	return fmt.Errorf("%s: %w: %v", service, errs.ErrServiceUnavailable, err)
}

// Empty is the status-only answer of a call: err as a Milvus status.
func Empty(err error) *pb.Empty { return &pb.Empty{Status: rpc.StatusOf(err)} }
