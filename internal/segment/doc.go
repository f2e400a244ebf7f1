// Package segment is the in-memory segment engine a query node serves
// reads from: growing segments (append-only, fed by the log) and sealed
// segments (immutable, possibly memory-mapped, possibly indexed), behind one
// Segment interface.
//
// # What it owns
//
// Per segment: the row columns (column.Column per schema field) and insert
// timestamps, a primary-key index (key -> row offsets; a hash map while
// growing, a sorted permutation searched by bisection once sealed) used for
// deletes, "pk in [...]" filters and Query's key order, per-row delete timestamps, a cache of
// visibility bitsets, COSINE row norms and BM25 document lengths, and (sealed) per-field min/max
// statistics and the rows sorted by primary key. It does not own the filter
// engine (a Filter is passed in; *expr.Expr satisfies it), the vector
// indexes (built elsewhere, handed to NewSealed) or any I/O.
//
// # Semantics (Milvus's)
//
//   - A read at MVCC timestamp T sees row r iff ts(r) <= T and no delete
//     (pk(r), D) with ts(r) < D <= T exists. The strict ts(r) < D lets an
//     upsert (a delete and an insert with the same timestamp) keep its new
//     row.
//   - Search returns NQ*K slots, best first (ties: lower offset first), with
//     Milvus's scores: squared L2, HAMMING, JACCARD ascending; IP, COSINE
//     similarity descending. Each hit carries its primary key and insert
//     timestamp so the caller can dedup across segments.
//   - A grouping search (SearchRequest.GroupBy) returns the K best groups of
//     a Bool, integer or VarChar field (null is a group), ranked by their
//     best hit, each with up to GroupSize hits, plus each hit's group value.
//   - Query returns visible matching rows sorted by primary key, one row per
//     key (highest timestamp wins), so that Limit counts keys.
//   - BM25 over sparse term-frequency rows is scored as the sparse index
//     scores it (idf and avgdl over the segment), so growing and sealed
//     segments rank alike.
//   - Count counts visible matching rows (duplicate keys count twice, as in
//     Milvus).
//   - A delete of a key the segment does not hold is dropped: within a
//     channel the log orders a delete after the inserts it hits, and the
//     query node replays buffered deletes into a segment it loads later.
//   - A field left out of an append (or missing from a sealed segment's
//     files, e.g. added to the schema later) reads as its default value,
//     "{}" for the dynamic field, or null if nullable; otherwise it is an
//     error.
//
// # Concurrency
//
// Growing uses one RWMutex (core.mu) plus the rule that rows, once
// published, are never written again. Append validates outside the lock,
// then under the write lock appends to each column (possibly reallocating:
// readers keep the old backing array, whose first n rows are identical),
// extends the timestamps and delete slots, indexes the keys and finally
// raises the row count. A request takes the read lock only to snapshot the
// row count and the column headers, sliced to that count with capacity
// capped, and then runs without the lock: later appends write beyond what
// it can see. Deletes take the write lock and change only deletedAt, which
// readers consult under the read lock while building a visibility bitset.
// Sealed segments use the same code; their columns never change.
//
// Visibility bitsets are cached per (row count, MVCC timestamp, delete
// version); cached sets are shared and never modified. A growing segment
// that only appended since a cached read at the same timestamp and delete
// version extends that set instead of rescanning, and reads past every
// insert and delete share one entry however far the service time advances.
// Search allocates per request (bitsets, collectors, results), never per
// row.
//
// # Choosing a plan
//
//   - Filters answering PrimaryKeyIn are resolved through the primary-key
//     index, never evaluated.
//   - A filter implementing Pruner is checked against SetStats' min/max
//     first; a sealed segment it rules out answers empty. One whose
//     statistics prove every row matches (FullMatcher) skips evaluation.
//   - A sealed field with an index is searched through it (skip bitset =
//     NOT(visible AND match), Milvus's convention) unless fewer than 4096
//     rows or 2% of the segment are allowed: then an exact scan (with the
//     index's build parameters) is cheaper and a graph index would wander.
//     Index hits are checked against the skip set again, so a deleted row
//     can never come back through an index.
//   - Brute force walks the allowed rows in blocks of about 256 KiB of
//     vectors, scoring each block against every query while it is in cache
//     (float16, bfloat16 and int8 rows are converted once per block), and
//     splits large scans across GOMAXPROCS goroutines.
//   - A search iterator page (Exact, one query) walks a ranking of every
//     row by its score for that query, built once and kept for a while
//     (ranking.go); After starts the walk at the previous page's bound.
//   - Query walks the rows presorted by key (sealed, when at least 1/16 of
//     the rows are allowed) or sorts the allowed rows (with a limit, only
//     the limit+duplicates+1 smallest, kept in a heap).
//
// # Lock order
//
//	core.mu -> visCache.mu
//	core.mu -> pkOrder.once (a sealed segment's key index, built on first use)
//
// normCache.mu, statsTable.mu and rankings.mu are taken without core.mu held. None of
// the inner locks is held while taking another.
package segment
