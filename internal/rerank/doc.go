// Package rerank fuses ranked hit lists into one ranking, as Milvus 2.6's
// proxy does for HybridSearch and for function reranking of a plain Search
// (internal/util/function/rerank in Milvus).
//
// It owns the rerankers (rrf, weighted, decay; model is refused because it
// needs a network service), their parameter parsing from a FunctionScore or
// from the legacy rank_params ("strategy", "params"), Milvus's score
// normalisation per metric, and the grouping of fused hits. It knows nothing
// of shards or result columns: callers hand it one List per sub-search per
// query and get back the fused order with where each hit was first seen, so
// they can copy its output fields.
//
// Semantics kept from Milvus, including its quirks: ties break by the
// smaller primary key; a hit's location (and group value) is its first
// occurrence in list order; a group's "max" score starts at 0; rounding is
// floor(score*10^d + 0.5) / 10^d; weighted fusion without normalisation of
// lists that all rank smaller-is-better sorts ascending.
package rerank
