package proxy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/pkg/v2/proto/internalpb"

	"github.com/milvago/milvago/internal/contract"
)

// quotaMetrics is the quota center's last sample: the center in process
// (standalone) or its RPC client (a cluster proxy asks the root
// coordinator).
type quotaMetrics interface {
	QuotaMetrics(ctx context.Context) (*contract.QuotaCenterMetrics, error)
}

// GetQuotaMetrics is Milvus 2.6's proxy GetQuotaMetrics (served over REST
// as quotacenter/describe): the quota center's last sample as the JSON of
// Milvus's QuotaCenterMetrics. With quotaAndLimits off there is no
// center and the sample holds no node, as Milvus's unstarted QuotaCenter.
func (s *Server) GetQuotaMetrics(ctx context.Context, _ *internalpb.GetQuotaMetricsRequest) (*internalpb.GetQuotaMetricsResponse, error) {
	m := contract.NewQuotaCenterMetrics()
	if s.d.QuotaMetrics != nil {
		var err error
		if m, err = s.d.QuotaMetrics.QuotaMetrics(ctx); err != nil {
			return nil, fmt.Errorf("quota center metrics: %w", err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode the quota center metrics: %w", err)
	}
	return &internalpb.GetQuotaMetricsResponse{Status: &commonpb.Status{}, MetricsInfo: string(b)}, nil
}
