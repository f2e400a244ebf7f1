package rpc

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/sysinfo"
)

// SystemInfo describes the deployment for GetMetrics system_info: the
// answering proxy and every other component (in cluster mode, gathered
// from the processes found through their sessions).
type SystemInfo interface {
	Self(ctx context.Context) sysinfo.ComponentInfos
	Components(ctx context.Context) ([]sysinfo.ComponentInfos, error)
}

// SetSystemInfo sets what GetMetrics reports.
func (s *Service) SetSystemInfo(si SystemInfo) { s.sysInfo = si }

const systemInfoMetrics = "system_info"

// metricType reads the request's type as Milvus's
// metricsinfo.ParseMetricRequestType: "req_type", else "metric_type".
func metricType(request string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(request), &m); err == nil {
		for _, k := range []string{"req_type", "metric_type"} {
			v, ok := m[k]
			if !ok {
				continue
			}
			var str string
			if json.Unmarshal(v, &str) == nil {
				return str, nil
			}
			return strings.TrimSpace(string(v)), nil
		}
	}
	return "", errs.Plain("metric_type or req_type not found in request")
}

// GetMetrics answers {"metric_type": "system_info"} with Milvus's system
// topology; other metric types are Milvus's ErrMetricNotFound.
func (s *Service) GetMetrics(ctx context.Context, req *milvuspb.GetMetricsRequest) (*milvuspb.GetMetricsResponse, error) {
	typ, err := metricType(req.GetRequest())
	if err != nil {
		return &milvuspb.GetMetricsResponse{Status: StatusOf(err)}, nil
	}
	if typ != systemInfoMetrics || s.sysInfo == nil {
		return &milvuspb.GetMetricsResponse{Status: StatusOf(errs.MetricNotFound(typ))}, nil
	}
	self := s.sysInfo.Self(ctx)
	others, err := s.sysInfo.Components(ctx)
	if err != nil {
		return &milvuspb.GetMetricsResponse{Status: StatusOf(err), ComponentName: self.Name}, nil
	}
	b, err := json.Marshal(sysinfo.Topology(self, others))
	if err != nil {
		return &milvuspb.GetMetricsResponse{Status: StatusOf(err), ComponentName: self.Name}, nil
	}
	return &milvuspb.GetMetricsResponse{Status: StatusOf(nil), Response: string(b), ComponentName: self.Name}, nil
}

// GetPersistentSegmentInfo lists a collection's sealed and flushed
// segments (datacoord's), as Milvus does.
func (s *Service) GetPersistentSegmentInfo(ctx context.Context, req *milvuspb.GetPersistentSegmentInfoRequest) (*milvuspb.GetPersistentSegmentInfoResponse, error) {
	infos, err := s.p.PersistentSegments(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return &milvuspb.GetPersistentSegmentInfoResponse{Status: StatusOf(err)}, nil
	}
	return &milvuspb.GetPersistentSegmentInfoResponse{Status: StatusOf(nil), Infos: infos}, nil
}
