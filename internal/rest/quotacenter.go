package rest

import (
	"context"

	"github.com/milvus-io/milvus/pkg/v2/proto/internalpb"
)

// quotaCenterDescribe is Milvus 2.6's quotacenter/describe: the proxy's
// GetQuotaMetrics, whose data is the quota center's sample as a JSON
// string (Milvus's handler_v2.go sends response.MetricsInfo as it is).
func (h *Handler) quotaCenterDescribe(ctx context.Context, c *call) (any, error) {
	var r struct{}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.GetQuotaMetrics(ctx, &internalpb.GetQuotaMetricsRequest{})
	if err != nil {
		return nil, err
	}
	return resp.GetMetricsInfo(), nil
}
