package proxy

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

func pairs(kv ...string) []*commonpb.KeyValuePair {
	var out []*commonpb.KeyValuePair
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &commonpb.KeyValuePair{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestParseSearchIterator(t *testing.T) {
	const token = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	ok := func(want searchIterator, kv ...string) {
		t.Helper()
		it, err := parseSearchIterator(DefaultLimits().TopK, pairs(kv...))
		if err != nil {
			t.Fatalf("%v: %v", kv, err)
		}
		if want.v2 && want.token == "" {
			if !validUUID(it.token) {
				t.Fatalf("%v: generated token %q is not a UUID", kv, it.token)
			}
			want.token = it.token
		}
		if (want.lastBound == nil) != (it.lastBound == nil) || (want.lastBound != nil && *want.lastBound != *it.lastBound) {
			t.Fatalf("%v: last bound %v, want %v", kv, it.lastBound, want.lastBound)
		}
		want.lastBound, it.lastBound = nil, nil
		if *it != want {
			t.Fatalf("%v: %+v, want %+v", kv, *it, want)
		}
	}
	bound := float32(0.125)
	ok(searchIterator{}, "topk", "10")
	ok(searchIterator{iterator: true, collectionID: 42}, "iterator", "True", "collection_id", "42")
	ok(searchIterator{iterator: true, v2: true, batchSize: 100}, "iterator", "true", "search_iter_v2", "true", "search_iter_batch_size", "100")
	ok(searchIterator{iterator: true, v2: true, batchSize: 7, token: token, lastBound: &bound},
		"iterator", "true", "search_iter_v2", "1", "search_iter_batch_size", "7", "search_iter_id", token, "search_iter_last_bound", "0.125")
	ok(searchIterator{}, "search_iter_v2", "nonsense") // not a bool: not v2, as Milvus

	// An iterator's invalid topk becomes the largest valid one.
	p := pairs("iterator", "true", "topk", "100000")
	if _, err := parseSearchIterator(DefaultLimits().TopK, p); err != nil || p[1].GetValue() != "16384" {
		t.Fatalf("topk %q, %v", p[1].GetValue(), err)
	}

	bad := func(want string, kv ...string) {
		t.Helper()
		_, err := parseSearchIterator(DefaultLimits().TopK, pairs(kv...))
		if err == nil || err.Error() != want || errs.CodeOf(err) != errs.ErrParameterInvalid.Code {
			t.Fatalf("%v: %v (code %d), want %q", kv, err, errs.CodeOf(err), want)
		}
	}
	v2 := []string{"iterator", "true", "search_iter_v2", "true"}
	bad("parse iterator v2 info failed: both iterator and search_iter_v2 must be set in the SDK: missing parameter: invalid parameter",
		"search_iter_v2", "true", "search_iter_batch_size", "5")
	bad("parse iterator v2 info failed: batch size is required: missing parameter: invalid parameter", v2...)
	bad("parse iterator v2 info failed: invalid token format: invalid parameter: invalid parameter", append(v2, "search_iter_id", "x", "search_iter_batch_size", "5")...)
	bad(`parse iterator v2 info failed: batch size is invalid, strconv.ParseInt: parsing "a": invalid syntax: invalid parameter: invalid parameter`,
		append(v2, "search_iter_batch_size", "a")...)
	bad("parse iterator v2 info failed: batch size is invalid, it should be in range [1, 16384], but got 16385: invalid parameter: invalid parameter",
		append(v2, "search_iter_batch_size", "16385")...)
	bad(`parse iterator v2 info failed: failed to parse input last bound, strconv.ParseFloat: parsing "b": invalid syntax: invalid parameter: invalid parameter`,
		append(v2, "search_iter_batch_size", "5", "search_iter_last_bound", "b")...)
}

func TestSearchIteratorApply(t *testing.T) {
	it := &searchIterator{iterator: true, v2: true, batchSize: 9, collectionID: 5}
	spec := &searchSpec{TopK: 100}
	if err := it.apply(spec, 5); err != nil || spec.TopK != 9 {
		t.Fatalf("apply: topk %d, %v", spec.TopK, err)
	}
	f := func(it *searchIterator, spec *searchSpec, want string) {
		t.Helper()
		err := it.apply(spec, 5)
		if err == nil || err.Error() != want || !errors.Is(err, errs.ErrParameterInvalid) {
			t.Fatalf("%v, want %q", err, want)
		}
	}
	f(&searchIterator{iterator: true}, &searchSpec{GroupByField: "g"}, "Not allowed to do groupBy when doing iteration: invalid parameter[expected=][actual=]")
	f(&searchIterator{iterator: true, v2: true, batchSize: 1}, &searchSpec{Offset: 3},
		"parse iterator v2 info failed: Setting an offset is not permitted when using a search iterator v2: invalid parameter[expected=][actual=]: invalid parameter")
	f(&searchIterator{iterator: true, collectionID: 6}, &searchSpec{},
		"collection id:6 in the request is not consistent to that in the search context,alias or database may have been changed: 5: invalid parameter")
}

func TestLastBound(t *testing.T) {
	in := float32(3)
	f := func(data *schemapb.SearchResultData, incoming *float32, m index.Metric, want float32) {
		t.Helper()
		if got := lastBound(data, incoming, m); got != want {
			t.Fatalf("lastBound = %g, want %g", got, want)
		}
	}
	f(&schemapb.SearchResultData{NumQueries: 1, Scores: []float32{1, 2}}, &in, index.L2, 2)
	f(&schemapb.SearchResultData{NumQueries: 1}, &in, index.L2, 3)
	f(&schemapb.SearchResultData{NumQueries: 1}, nil, index.L2, -math.MaxFloat32)
	f(&schemapb.SearchResultData{NumQueries: 1}, nil, index.Cosine, math.MaxFloat32)
	f(&schemapb.SearchResultData{NumQueries: 2, Scores: []float32{1, 2}}, nil, index.IP, math.MaxFloat32)
}

func TestUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		u := newUUID()
		if !validUUID(u) || u[14] != '4' || seen[u] {
			t.Fatalf("newUUID %q", u)
		}
		seen[u] = true
	}
	for _, s := range []string{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "6ba7b8109dad11d180b400c04fd430c8"} {
		if !validUUID(s) {
			t.Errorf("%q should be valid", s)
		}
	}
	for _, s := range []string{"", "x", "6ba7b810-9dad-11d1-80b4-00c04fd430cz", "6ba7b810x9dad-11d1-80b4-00c04fd430c8", strings.Repeat("a", 36)} {
		if validUUID(s) {
			t.Errorf("%q should be invalid", s)
		}
	}
}

func TestParseQueryIterator(t *testing.T) {
	qi, err := parseQueryIterator(pairs("iterator", "True", "reduce_stop_for_best", "true", "collection_id", "7"), 7)
	if err != nil || !qi.iterator || qi.collectionID != 7 {
		t.Fatalf("%+v, %v", qi, err)
	}
	f := func(want string, kv ...string) {
		t.Helper()
		_, err := parseQueryIterator(pairs(kv...), 7)
		if err == nil || err.Error() != want || !errors.Is(err, errs.ErrParameterInvalid) {
			t.Fatalf("%v: %v, want %q", kv, err, want)
		}
	}
	f("value for iterator field is invalid: invalid parameter[expected=true or false][actual=yes]", "iterator", "yes")
	f("value for reduce_stop_for_best is invalid: invalid parameter[expected=true or false][actual=2]", "reduce_stop_for_best", "2")
	f("value for collection id is invalid: invalid parameter[expected=int value for collection_id][actual=collection_id]", "collection_id", "x")
	f("Input collection id is not consistent to collectionID in the context,alias or database may have changed: invalid parameter", "collection_id", "8")
}

func TestSpreadOverIDs(t *testing.T) {
	data := &schemapb.SearchResultData{NumQueries: 2, Topks: []int64{3, 1}}
	spreadOverIDs(data, []bool{true, false, true, false})
	if data.NumQueries != 4 || len(data.Topks) != 4 || data.Topks[0] != 3 || data.Topks[1] != 0 || data.Topks[2] != 1 || data.Topks[3] != 0 {
		t.Fatalf("%+v", data)
	}
}

func TestTieMemory(t *testing.T) {
	var m tieMemory
	if m.get("a", 1) != nil {
		t.Fatal("empty memory answered")
	}
	m.put("a", 1, &segment.PKSet{Ints: []int64{4}})
	m.put("a", 2, &segment.PKSet{Ints: []int64{5}})
	if s := m.get("a", 1); s == nil || s.Ints[0] != 4 {
		t.Fatalf("bound 1: %v", s)
	}
	m.put("a", 2, &segment.PKSet{Ints: []int64{5, 7}}) // a later page at bound 2
	if s := m.get("a", 2); len(s.Ints) != 2 || m.get("a", 1) == nil {
		t.Fatalf("bound 2 after a second page there: %v", s)
	}
	m.put("a", 3, &segment.PKSet{Ints: []int64{6}}) // forgets bound 1, keeps 2 and 3
	if m.get("a", 1) != nil || m.get("a", 2) == nil || m.get("a", 3) == nil || m.get("b", 2) != nil {
		t.Fatal("the two latest bounds of a token are kept")
	}
	for i := range maxTieTokens {
		m.put(strconv.Itoa(i), 1, &segment.PKSet{})
	}
	if m.get("a", 3) != nil || m.get("0", 1) == nil || len(m.tokens) != maxTieTokens {
		t.Fatalf("the oldest token is evicted first (%d tokens)", len(m.tokens))
	}

	// Keys at the bound, with the previous pages' at the same bound.
	got := tiesAtBound([]float32{1, 2, 2}, []int64{7, 8, 9}, nil, 2, &segment.PKSet{Ints: []int64{3}})
	if !slices.Equal(got.Ints, []int64{3, 8, 9}) {
		t.Fatalf("ties %v", got.Ints)
	}
	got = tiesAtBound([]float32{5, 5}, nil, []string{"x", "y"}, 5, nil)
	if !slices.Equal(got.Strs, []string{"x", "y"}) {
		t.Fatalf("ties %v", got.Strs)
	}
}

func TestTieMemoryBudget(t *testing.T) {
	var m tieMemory
	big := &segment.PKSet{Ints: make([]int64, maxTieKeys)}
	for i := range maxTieTotal/maxTieKeys + 5 {
		m.put(strconv.Itoa(i), 1, big)
		if m.total > maxTieTotal {
			t.Fatalf("after %d tokens: %d keys held, budget %d", i+1, m.total, maxTieTotal)
		}
	}
	if m.get("0", 1) != nil || m.get(strconv.Itoa(maxTieTotal/maxTieKeys+4), 1) == nil {
		t.Fatal("the oldest tokens go first")
	}
	m.put("x", 1, &segment.PKSet{Ints: make([]int64, maxTieKeys+1)})
	if m.get("x", 1) != nil {
		t.Fatal("a set above maxTieKeys is not remembered")
	}
	n := 0
	for _, tk := range m.tokens {
		n += setLen(tk.sets[0]) + setLen(tk.sets[1])
	}
	if n != m.total {
		t.Fatalf("total %d, held %d", m.total, n)
	}
}
