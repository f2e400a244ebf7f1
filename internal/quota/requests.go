package quota

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestsMetric is Milvus's milvus_proxy_rate_limit_req_count under
// Milvago's prefix: the requests one proxy's limiter decided, by the
// proxy's node ID, Milvus's rate type (msg_type: DMLInsert, DQLSearch,
// DDLCollection...) and status: "total" for every decision, "fail" for a
// refusal (a rate limit, code 8, or a quota or force deny, code 9),
// "success" for an admission. Each proxy counts its own, so a cluster's
// refusals are the sum over its proxies' /metrics.
const RequestsMetric = "milvago_proxy_rate_limit_req_count"

// Milvus's status label values (pkg/metrics: TotalLabel, FailLabel,
// SuccessLabel).
const (
	statusTotal   = "total"
	statusFail    = "fail"
	statusSuccess = "success"
)

// rateTypes are Milvus's internalpb.RateType names of each kind's bucket
// kind (an upsert is a DMLInsert, as Milvus's GetRequestInfo has it).
var rateTypes = [...]string{
	Insert: "DMLInsert", Upsert: "DMLInsert", Delete: "DMLDelete", Search: "DQLSearch", Query: "DQLQuery",
	Flush: "DDLFlush", DDLCollection: "DDLCollection", DDLPartition: "DDLPartition", BulkLoad: "DMLBulkLoad",
	DDLIndex: "DDLIndex", Compaction: "DDLCompaction", DDLDB: "DDLDB",
}

// rateType is kind's msg_type label.
func (k Kind) rateType() string {
	if int(k) < len(rateTypes) {
		return rateTypes[k]
	}
	return k.String()
}

// Requests counts one proxy's decisions in RequestsMetric.
type Requests struct {
	vec  *prometheus.CounterVec
	node func() int64
}

// NewRequests returns the counter of a proxy whose node ID node returns
// (read at each decision: a cluster proxy learns its ID when its session
// registers, before it admits anything), registered with reg (nil: kept
// but not exported). A counter already registered there (a proxy rebuilt
// in the same process) is reused.
func NewRequests(reg prometheus.Registerer, node func() int64) *Requests {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: RequestsMetric,
		Help: "Requests the proxy's rate limiter decided (Milvus's milvus_proxy_rate_limit_req_count), by node, rate type and status (total, fail, success)."},
		[]string{"node_id", "msg_type", "status"})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if errors.As(err, &dup) {
				if existing, ok := dup.ExistingCollector.(*prometheus.CounterVec); ok {
					vec = existing
				}
			}
		}
	}
	return &Requests{vec: vec, node: node}
}

// count records one decision on kind: refused when err is not nil.
func (r *Requests) count(kind Kind, err error) {
	if r == nil {
		return
	}
	node := strconv.FormatInt(r.node(), 10)
	rt := kind.rateType()
	r.vec.WithLabelValues(node, rt, statusTotal).Inc()
	if err != nil {
		r.vec.WithLabelValues(node, rt, statusFail).Inc()
		return
	}
	r.vec.WithLabelValues(node, rt, statusSuccess).Inc()
}
