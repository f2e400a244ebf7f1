// Package embedding calls the model services behind Milvus 2.6's
// text_embedding functions and model rerankers: over HTTP TEI's /embed and
// /rerank, the OpenAI embeddings API (openai, azure_openai, siliconflow and
// any OpenAI-compatible endpoint given a url), the hosted APIs (cohere,
// voyageai, dashscope, gemini, bedrock, vertexai, ali) and vLLM's /rerank;
// over gRPC Milvus's model service (zilliz: embeddings, rerank and the
// semantic highlighter, on one shared connection).
//
// A Service holds the operator's configuration (Milvus's
// function.textEmbedding.providers.*, function.rerank.model.providers.*,
// credential.* and function.batch_factor keys). NewTextEmbedding builds a
// schema function's embedder with Milvus's parameter checks and texts;
// NewRerankProvider builds a model reranker's scorer. Every call runs
// under the caller's context and a per-request deadline (30 s, as Milvus)
// and retries a failed request at most three times, so a dead endpoint
// fails a request instead of hanging it.
package embedding
