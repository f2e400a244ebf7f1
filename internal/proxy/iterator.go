package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// Iterator parameter keys (Milvus's proxy task.go and the SDKs).
const (
	iteratorKey            = "iterator"
	searchIterV2Key        = "search_iter_v2"
	searchIterBatchSizeKey = "search_iter_batch_size"
	searchIterLastBoundKey = "search_iter_last_bound"
	searchIterIDKey        = "search_iter_id"
	collectionIDKey        = "collection_id"
	reduceStopForBestKey   = "reduce_stop_for_best"
)

// searchIterator is what a Search request says about iteration.
//
// Milvus 2.6's search iterator v2 is stateless on the server: each page is
// an ordinary search for the batch_size best rows ranked strictly after
// the previous page's last score (search_iter_last_bound). The answer
// carries SearchIteratorV2Results{token, last_bound}: the token is a UUID
// the client echoes (search_iter_id), last_bound the page's last score. A
// client that sends the first page's session_ts back as
// guarantee_timestamp (pymilvus does; the Go SDK does not) reads every page
// at that timestamp, so rows written during the iteration stay out.
//
// Milvago scans the raw vectors for iterator pages even where an index
// exists (from a per-query ranking each segment keeps), so each page is
// exact and a row scores the same on every page. Rows scoring exactly the
// previous page's last bound, which Milvus skips, are returned unless that
// page returned them (see tieMemory).
type searchIterator struct {
	iterator     bool  // "iterator": the request comes from an SDK iterator
	collectionID int64 // "collection_id" the SDK resolved, 0 if none
	v2           bool  // "search_iter_v2"
	token        string
	batchSize    int
	lastBound    *float32
	// ties are the keys earlier pages returned at lastBound (see tieMemory),
	// nil when unknown.
	ties *segment.PKSet
}

// parseSearchIterator reads the iterator keys of a Search request the way
// Milvus's parseSearchInfo and parseSearchIteratorV2Info do. For an
// iterator request it also replaces an invalid topk by the largest one
// (Milvus lets iterators ask for more than the limit), in params itself.
func parseSearchIterator(maxTopK int, params []*commonpb.KeyValuePair) (*searchIterator, error) {
	it := &searchIterator{}
	s, _ := kvLookup(params, iteratorKey)
	it.iterator = s == "True" || s == "true"
	if s, ok := kvLookup(params, collectionIDKey); ok {
		it.collectionID, _ = strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	}
	if it.iterator {
		for _, p := range params {
			if p.GetKey() != topKKey {
				continue
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(p.GetValue()), 0, 64); err != nil || n <= 0 || n > int64(maxTopK) {
				p.Value = strconv.Itoa(maxTopK)
			}
			break
		}
	}
	s, _ = kvLookup(params, searchIterV2Key)
	if v2, _ := strconv.ParseBool(s); !v2 {
		return it, nil
	}
	it.v2 = true
	fail := func(format string, args ...any) error {
		return errInvalidMsg("parse iterator v2 info failed: "+format, args...)
	}
	if !it.iterator {
		return nil, fail("both %s and %s must be set in the SDK: %s", iteratorKey, searchIterV2Key, errs.ErrParameterMissing.Msg)
	}
	it.token, _ = kvLookup(params, searchIterIDKey)
	if it.token == "" {
		it.token = newUUID()
	} else if !validUUID(it.token) {
		return nil, fail("invalid token format: %s", errs.ErrParameterInvalid.Msg)
	}
	bs, _ := kvLookup(params, searchIterBatchSizeKey)
	if bs == "" {
		return nil, fail("batch size is required: %s", errs.ErrParameterMissing.Msg)
	}
	n, err := strconv.ParseInt(bs, 0, 64)
	if err != nil {
		return nil, fail("batch size is invalid, %v: %s", err, errs.ErrParameterInvalid.Msg)
	}
	if n <= 0 || n > int64(maxTopK) {
		return nil, fail("batch size is invalid, %s: %s", limitRangeError(maxTopK, n), errs.ErrParameterInvalid.Msg)
	}
	it.batchSize = int(n)
	if lb, _ := kvLookup(params, searchIterLastBoundKey); lb != "" {
		f, err := strconv.ParseFloat(lb, 32)
		if err != nil {
			return nil, fail("failed to parse input last bound, %v: %s", err, errs.ErrParameterInvalid.Msg)
		}
		b := float32(f)
		it.lastBound = &b
	}
	return it, nil
}

// apply checks an iterator request against the parsed search and the
// collection, and makes the batch size the number of hits to return.
func (it *searchIterator) apply(spec *searchSpec, collectionID int64) error {
	if it.iterator && spec.GroupByField != "" {
		return errInvalidValue("", "", "Not allowed to do groupBy when doing iteration")
	}
	if it.v2 {
		if spec.Offset > 0 {
			return errInvalidMsg("parse iterator v2 info failed: %s", errInvalidValue("", "", "Setting an offset is not permitted when using a search iterator v2").Error())
		}
		spec.TopK = it.batchSize
	}
	if it.collectionID > 0 && it.collectionID != collectionID {
		return errInvalidMsg("collection id:%d in the request is not consistent to that in the search context,"+
			"alias or database may have been changed: %d", it.collectionID, collectionID)
	}
	return nil
}

// pin returns the timestamp to read at when the request continues an
// iteration (an iterator request with a guarantee timestamp: Milvus then
// reads at exactly that timestamp), or 0.
func (it *searchIterator) pin(req *milvuspb.SearchRequest) uint64 {
	if it.iterator {
		return req.GetGuaranteeTimestamp()
	}
	return 0
}

// recallTies looks up the keys earlier pages of this iterator returned at
// its last bound, for the shards to return the other rows at the bound.
// Scores rounded to round_decimal are not exact bounds: then none.
func (it *searchIterator) recallTies(m *tieMemory, spec *searchSpec) {
	if it.v2 && it.lastBound != nil && spec.RoundDecimal < 0 && spec.NQ == 1 {
		it.ties = m.get(it.token, *it.lastBound)
	}
}

// finish adds the iterator's answer to a search response: token and last
// bound for v2, and on a first page the timestamp the shards read at, for
// the client to pin the following pages to. It remembers the keys the
// page returned at its new bound in m.
func (it *searchIterator) finish(m *tieMemory, spec *searchSpec, resp *milvuspb.SearchResults, results []*contract.SearchResult, guaranteeTS uint64) {
	if !it.iterator {
		return
	}
	if it.v2 {
		data := resp.GetResults()
		bound := lastBound(data, it.lastBound, spec.Metric)
		data.SearchIteratorV2Results = &schemapb.SearchIteratorV2Results{Token: it.token, LastBound: bound}
		if len(data.GetScores()) > 0 && data.GetNumQueries() == 1 && spec.RoundDecimal < 0 {
			var prev *segment.PKSet
			if it.lastBound != nil && *it.lastBound == bound {
				prev = it.ties
			}
			m.put(it.token, bound, tiesAtBound(data.GetScores(), data.GetIds().GetIntId().GetData(), data.GetIds().GetStrId().GetData(), bound, prev))
		}
	}
	if guaranteeTS == 0 {
		resp.SessionTs = maxMVCC(results, func(r *contract.SearchResult) uint64 { return r.MVCCTs }, resp.GetSessionTs())
	}
}

// lastBound is the score of a page's last hit (single-query searches), or
// the incoming bound, or for an empty first page the best possible score.
func lastBound(data *schemapb.SearchResultData, incoming *float32, metric index.Metric) float32 {
	if n := len(data.GetScores()); n > 0 && data.GetNumQueries() == 1 {
		return data.GetScores()[n-1]
	}
	if incoming != nil {
		return *incoming
	}
	if metric.HigherIsBetter() {
		return math.MaxFloat32
	}
	return -math.MaxFloat32
}

// maxMVCC is the newest read timestamp of the shards' answers, or def
// when none reports one.
func maxMVCC[R any](results []R, ts func(R) uint64, def uint64) uint64 {
	var m uint64
	for _, r := range results {
		m = max(m, ts(r))
	}
	if m == 0 {
		return def
	}
	return m
}

// queryIterator is what a Query request says about iteration.
type queryIterator struct {
	iterator     bool
	collectionID int64
}

// parseQueryIterator reads "iterator", "reduce_stop_for_best" and
// "collection_id" as Milvus's query parseQueryParams does. Shards always
// return the limit's rows in primary-key order, so reduce_stop_for_best
// (which lets Milvus stop merging early and return fewer) needs nothing.
func parseQueryIterator(params []*commonpb.KeyValuePair, collectionID int64) (*queryIterator, error) {
	qi := &queryIterator{}
	if s, ok := kvLookup(params, reduceStopForBestKey); ok {
		if _, err := strconv.ParseBool(s); err != nil {
			return nil, errInvalidValue("true or false", s, "value for reduce_stop_for_best is invalid")
		}
	}
	if s, ok := kvLookup(params, iteratorKey); ok {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errInvalidValue("true or false", s, "value for iterator field is invalid")
		}
		qi.iterator = b
	}
	if s, ok := kvLookup(params, collectionIDKey); ok {
		id, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return nil, errInvalidValue("int value for collection_id", collectionIDKey, "value for collection id is invalid")
		}
		qi.collectionID = id
	}
	if qi.collectionID > 0 && qi.collectionID != collectionID {
		return nil, errInvalidMsg("Input collection id is not consistent to collectionID in the context," +
			"alias or database may have changed")
	}
	return qi, nil
}

// newUUID returns a random (version 4) UUID in its canonical text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// validUUID accepts the forms github.com/google/uuid.Parse accepts:
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, with an "urn:uuid:" prefix or in
// braces, and 32 hex digits without hyphens.
func validUUID(s string) bool {
	switch len(s) {
	case 36:
	case 36 + 9:
		if !strings.EqualFold(s[:9], "urn:uuid:") {
			return false
		}
		s = s[9:]
	case 36 + 2:
		if s[0] != '{' || s[len(s)-1] != '}' {
			return false
		}
		s = s[1 : len(s)-1]
	case 32:
		_, err := hex.DecodeString(s)
		return err == nil
	default:
		return false
	}
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	_, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
	return err == nil
}
