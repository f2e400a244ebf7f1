package proxy

// diskIndexParams are Milvus 2.6's common.DiskIndex settings
// (configs/milvus.yaml) under the build-parameter names knowhere reads.
// Milvus's proxy (indexparams.FillDiskIndexParams) writes them into every
// DISKANN CreateIndex, over whatever the user passed: DISKANN's build
// parameters are set by the server's configuration, not per index. The
// user's own parameters are still what DescribeIndex shows.
var diskIndexParams = []struct{ key, value string }{
	{"max_degree", "56"},                    // common.DiskIndex.MaxDegree
	{"search_list_size", "100"},             // common.DiskIndex.SearchListSize
	{"pq_code_budget_gb_ratio", "0.125"},    // common.DiskIndex.PQCodeBudgetGBRatio
	{"num_build_thread_ratio", "1"},         // common.DiskIndex.BuildNumThreadsRatio
	{"search_cache_budget_gb_ratio", "0.1"}, // common.DiskIndex.SearchCacheBudgetGBRatio
}

// fillDiskIndexParams sets the DiskIndex build parameters on a DISKANN
// index's flattened parameters.
func fillDiskIndexParams(flat map[string]string) {
	if flat["index_type"] != "DISKANN" {
		return
	}
	for _, p := range diskIndexParams {
		flat[p.key] = p.value
	}
}
