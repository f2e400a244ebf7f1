// Package annbench is the `milvago bench ann` command: it builds one index
// type on a data set of texmex files (base.fvecs, query.fvecs, gt.ivecs),
// sweeps a search parameter and reports recall@10 and throughput with the
// protocol and field names of ../shared/bench (bench_anchor.py and
// hnsw_native.cpp), so that one run of both is a side-by-side comparison.
//
// Protocol, per search setting:
//   - batch: the queries are answered one per call by --threads goroutines,
//     best wall time of three repetitions -> qps_batch (and qps_batch_cpu
//     from process CPU time); recall10 is computed from these answers;
//   - single thread: the queries one at a time on one locked OS thread with
//     GOMAXPROCS=1 -> qps_1t from that thread's CPU time (as hnsw_native),
//     qps_1t_wall from wall time, per-query latency p50 and mean.
//
// The build uses --threads goroutines (hnsw_native builds with its thread
// argument too); build_s is wall time, rss_growth_mb the growth of VmRSS
// across the build (as hnsw_native reports it: it includes garbage the Go
// heap has not returned yet), rss_retained_mb the growth after a GC and
// debug.FreeOSMemory (what the index keeps), index_mb the serialized size.
// Memory-holding indexes that reference the caller's vectors (HNSW, FLAT)
// do not count the vectors in either figure; hnswlib copies them.
package annbench
