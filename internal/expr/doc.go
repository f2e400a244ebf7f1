// Package expr parses and evaluates Milvus's boolean filter language (the
// grammar of Milvus 2.6's Plan.g4) for search, query, count and delete.
//
// Parse turns the text of a filter into an immutable, typed plan (*Expr)
// checked against a collection schema with Milvus's type rules; the proxy
// parses once, and the plan is shipped to query nodes (Marshal/Unmarshal)
// and evaluated on every segment (Eval) into a bitset, column at a time.
//
// Pipeline: lexer.go (tokens with byte offsets) -> parser.go (a hand-written
// Pratt parser producing an untyped syntax tree, ast.go) -> check.go and
// types.go (names resolved against the schema, types checked, constants
// folded, plan nodes built, plan.go) -> eval_*.go (typed loops per column
// type, writing bitset words directly; like.go for patterns, jsonscan.go for
// reading one path out of each JSON row). marshal.go serializes a plan,
// prune.go decides from min/max statistics whether a segment may match.
//
// Null semantics follow Milvus's segcore: every node yields a result bitset
// and a validity bitset. A leaf is false and invalid on a null row; `and` and
// `or` combine results and OR validities; `not` flips the result and keeps
// only valid rows. So `not (a > 1)` never selects a row where a is null;
// `is null` finds them. docs/expr.md has the whole language and type rules.
//
// Limits: filter text is at most MaxTextLength bytes and nests at most
// MaxDepth levels, so hostile input cannot exhaust the stack or memory.
//
// An *Expr is immutable after Parse and safe for concurrent use; Eval
// allocates per call (per batch), never per row, and caches nothing.
package expr
