// Package sysinfo answers Milvus's GetMetrics {"metric_type":
// "system_info"}: each component's infos (hardware, deployment, system
// configurations, created and updated time) in the JSON of Milvus's
// pkg/util/metricsinfo, and the system topology a proxy assembles from
// them (nodes_info with the edges Milvus draws between coordinators,
// their worker nodes and the proxy).
package sysinfo
