package errs

// MetricNotFound is merr.WrapErrMetricNotFound (1200):
// "metric not found[metric=<name>]", GetMetrics' answer to a metric type
// it does not serve.
func MetricNotFound(name string) error { return with(ErrMetricNotFound, "metric", name, nil) }
