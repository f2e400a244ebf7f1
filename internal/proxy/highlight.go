package proxy

// Lexical highlighting of search hits, as Milvus 2.6 does it: the request's
// highlighter (commonpb.Highlighter, type Lexical) names what to highlight:
// the BM25 search text ("highlight_search_text": true) and TEXT_MATCH
// queries ("highlight_query": [{"type": "TextMatch", "field": F, "text": T}]).
// Every hit's text in such a field is analyzed with the field's analyzer;
// the tokens that are also a token of the search text (or of a query text)
// are marked with pre_tags/post_tags inside fragments of fragment_size
// characters, at most num_of_fragments per hit, each starting
// fragment_offset characters before its first term. The answer is the
// search result's highlight_results: one per highlighted field, one
// HighlightData per hit.
//
// Milvus splits the work between the proxy (internal/proxy/highlighter.go:
// params, tags, the fragments' text) and the shard delegator
// (querynodev2/delegator GetHighlight: analysis, spans, fragments).
// Milvago's analyzers are a library every process has, so the proxy does
// both, on the reduced page of hits, in standalone and cluster mode alike.

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/analyzer"
	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
)

// Highlighter params and defaults (Milvus's highlighter.go).
const (
	hlPreTagsKey       = "pre_tags"
	hlPostTagsKey      = "post_tags"
	hlSearchTextKey    = "highlight_search_text"
	hlQueryKey         = "highlight_query"
	hlFragmentOffset   = "fragment_offset"
	hlFragmentSize     = "fragment_size"
	hlFragmentNum      = "num_of_fragments"
	hlDefaultFragSize  = 100
	hlDefaultFragNum   = 5
	hlDefaultPreTag    = "<em>"
	hlDefaultPostTag   = "</em>"
	hlQueryTypeTextMat = "TextMatch" // querypb.HighlightQueryType's only value
)

// lexicalHighlighter is a parsed Lexical highlighter.
type lexicalHighlighter struct {
	preTags, postTags []string
	fragSize, fragOff int64
	fragNum           int64
	searchText        bool
	queries           []highlightQuery
}

type highlightQuery struct{ field, text string }

// parseHighlighter reads a highlighter's params with Milvus's
// NewLexicalHighlighter checks and messages.
func parseHighlighter(h *commonpb.Highlighter) (*lexicalHighlighter, error) {
	params := map[string]string{}
	for _, kv := range h.GetParams() {
		params[kv.GetKey()] = kv.GetValue()
	}
	lh := &lexicalHighlighter{preTags: []string{hlDefaultPreTag}, postTags: []string{hlDefaultPostTag},
		fragSize: hlDefaultFragSize, fragNum: hlDefaultFragNum}
	if v, ok := params[hlPreTagsKey]; ok {
		var tags []string
		if err := json.Unmarshal([]byte(v), &tags); err != nil {
			return nil, errInvalidMsg("unmarshal pre_tags as string array failed: %v", err)
		}
		if len(tags) == 0 {
			return nil, errInvalidMsg("pre_tags cannot be empty list")
		}
		lh.preTags = tags
	}
	if v, ok := params[hlPostTagsKey]; ok {
		var tags []string
		if err := json.Unmarshal([]byte(v), &tags); err != nil {
			return nil, errInvalidMsg("unmarshal post_tags as string list failed: %v", err)
		}
		if len(tags) == 0 {
			return nil, errInvalidMsg("post_tags cannot be empty list")
		}
		lh.postTags = tags
	}
	if v, ok := params[hlFragmentSize]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, errInvalidMsg("invalid fragment_size: %s", v)
		}
		lh.fragSize = n
	}
	if v, ok := params[hlFragmentNum]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errInvalidMsg("invalid num_of_fragments: %s", v)
		}
		lh.fragNum = n
	}
	if v, ok := params[hlFragmentOffset]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errInvalidMsg("invalid fragment_offset: %s", v)
		}
		lh.fragOff = n
	}
	if v, ok := params[hlSearchTextKey]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errInvalidMsg("unmarshal highlight_search_text as bool failed: %v", err)
		}
		lh.searchText = b
	}
	if v, ok := params[hlQueryKey]; ok {
		var queries []any
		if err := json.Unmarshal([]byte(v), &queries); err != nil {
			return nil, errInvalidMsg("unmarshal highlight queries as json array failed: %v", err)
		}
		for _, q := range queries {
			hq, err := parseHighlightQuery(q)
			if err != nil {
				return nil, err
			}
			lh.queries = append(lh.queries, hq)
		}
	}
	return lh, nil
}

func parseHighlightQuery(q any) (highlightQuery, error) {
	const prefix = "unmarshal highlight queries failed: "
	m, ok := q.(map[string]any)
	if !ok {
		return highlightQuery{}, errInvalidMsg(prefix + "item in array is not json object")
	}
	str := func(key string) (string, error) {
		v, ok := m[key]
		if !ok {
			return "", errInvalidMsg(prefix+"must set `%s` in query", key)
		}
		s, ok := v.(string)
		if !ok {
			return "", errInvalidMsg(prefix+"`%s` must be string", key)
		}
		return s, nil
	}
	text, err := str("text")
	if err != nil {
		return highlightQuery{}, err
	}
	typ, err := str("type")
	if err != nil {
		return highlightQuery{}, err
	}
	if typ != hlQueryTypeTextMat {
		return highlightQuery{}, errInvalidMsg(prefix+"invalid highlight query type: %s", typ)
	}
	field, err := str("field")
	if err != nil {
		return highlightQuery{}, err
	}
	return highlightQuery{field: field, text: text}, nil
}

// highlightTask is the highlighting of one field: the texts whose tokens
// are marked (per query for the search text, for every hit for queries).
type highlightTask struct {
	field       *schemapb.FieldSchema
	fn          *bm25.Function        // the BM25 function the field feeds, if any (multi-language analyzers)
	single      *analyzer.Analyzer    // the field's analyzer otherwise
	searchTexts []string              // one per query vector (nq), with the search's analyzer
	searchAn    *analyzer.Analyzer    // analyzer of the search texts
	queryTexts  []string              // TEXT_MATCH query texts
	queryTokens map[string]bool       // filled by tokens()
	nameField   *schemapb.FieldSchema // multi-language analyzer's name field
}

// highlightPlan is a search's highlighting: its tasks and the fields the
// search must fetch for them that the user did not ask for.
type highlightPlan struct {
	sem   *semanticHighlighter // a Semantic highlighter; the rest is Lexical's
	h     *lexicalHighlighter
	tasks []*highlightTask
	added []int64
}

// planHighlight prepares a search's highlighting (Milvus's
// searchTask.addHighlightTask); nil when the request has no highlighter.
func planHighlight(c *model.Collection, req *milvuspb.SearchRequest, spec *searchSpec, models HighlightModels) (*highlightPlan, error) {
	hl := req.GetHighlighter()
	if hl == nil {
		return nil, nil
	}
	switch hl.GetType() {
	case commonpb.HighlightType_Lexical:
	case commonpb.HighlightType_Semantic:
		sem, err := newSemanticHighlighter(c.Schema, hl.GetParams(), c.DBName, models)
		if err != nil {
			return nil, err
		}
		return &highlightPlan{sem: sem}, nil
	default:
		return nil, errInvalidMsg("unsupported highlight type: %v", hl.GetType())
	}
	lh, err := parseHighlighter(hl)
	if err != nil {
		return nil, err
	}
	p := &highlightPlan{h: lh}
	byField := map[int64]*highlightTask{}
	if lh.searchText {
		if spec.Metric != index.BM25 {
			return nil, errInvalidMsg(`Search highlight only support with metric type "BM25" but was: %s`, spec.Metric)
		}
		fn, ok := bm25FunctionOf(c.Schema, spec.FieldID)
		if !ok {
			// merr.WrapErrServiceInternal
			return nil, errs.Wrap(errs.ErrServiceInternal, "", "Search with highlight failed, input field of BM25 annsField not found")
		}
		texts, err := placeholderTexts(req.GetPlaceholderGroup())
		if err != nil {
			return nil, err
		}
		name, _ := kvLookup(req.GetSearchParams(), "analyzer_name")
		t := &highlightTask{field: fn.Input, fn: &fn, searchTexts: texts, searchAn: fn.AnalyzerFor(name), nameField: fn.ByField}
		byField[fn.Input.GetFieldID()] = t
		p.tasks = append(p.tasks, t)
	}
	for _, q := range lh.queries {
		f := fieldByName(c.Schema, q.field)
		if f == nil || f.GetIsDynamic() {
			return nil, errInvalidMsg("highlight field not found in schema: %s", q.field)
		}
		t := byField[f.GetFieldID()]
		if t == nil {
			t = &highlightTask{field: f}
			if fn, ok := bm25FunctionOfInput(c.Schema, f.GetFieldID()); ok {
				t.fn, t.nameField = &fn, fn.ByField
			} else if analyzer.EnableAnalyzer(f) {
				a, err := analyzer.ForField(f)
				if err != nil {
					return nil, errInvalidMsg("%v", err)
				}
				t.single = a
			} else {
				return nil, errInvalidMsg("get highlight failed, the highlight field not found, %s:%d", f.GetName(), f.GetFieldID())
			}
			byField[f.GetFieldID()] = t
			p.tasks = append(p.tasks, t)
		}
		t.queryTexts = append(t.queryTexts, q.text)
	}
	return p, nil
}

// withFields adds the fields highlighting reads to a search's fetch list
// and remembers those the user did not ask for.
func (p *highlightPlan) withFields(fetchIDs []int64) []int64 {
	if p == nil {
		return fetchIDs
	}
	out := append([]int64(nil), fetchIDs...)
	has := func(id int64) bool {
		for _, x := range out {
			if x == id {
				return true
			}
		}
		return false
	}
	add := func(f *schemapb.FieldSchema) {
		if f != nil && !has(f.GetFieldID()) {
			out = append(out, f.GetFieldID())
			p.added = append(p.added, f.GetFieldID())
		}
	}
	if p.sem != nil {
		for _, f := range p.sem.requiredFields() {
			add(f)
		}
	}
	for _, t := range p.tasks {
		add(t.field)
		add(t.nameField)
	}
	return out
}

// apply sets data's highlight results and drops the fields fetched only
// for them.
func (p *highlightPlan) apply(ctx context.Context, data *schemapb.SearchResultData) error {
	if p == nil || data == nil {
		return nil
	}
	defer func() {
		kept := data.FieldsData[:0]
		for _, fd := range data.GetFieldsData() {
			drop := false
			for _, id := range p.added {
				drop = drop || fd.GetFieldId() == id
			}
			if !drop {
				kept = append(kept, fd)
			}
		}
		data.FieldsData = kept
	}()
	if len(data.GetFieldsData()) == 0 {
		return nil // Milvus skips highlighting a result without fields
	}
	if p.sem != nil {
		hr, err := p.sem.highlight(ctx, data)
		if err != nil {
			return err
		}
		data.HighlightResults = hr
		return nil
	}
	rows := len(data.GetScores())
	out := []*commonpb.HighlightResult{}
	if rows > 0 {
		for _, t := range p.tasks {
			out = append(out, p.highlightField(t, data, rows))
		}
	}
	data.HighlightResults = out
	return nil
}

func columnStrings(data *schemapb.SearchResultData, f *schemapb.FieldSchema) []string {
	if f == nil {
		return nil
	}
	for _, fd := range data.GetFieldsData() {
		if fd.GetFieldId() == f.GetFieldID() {
			return fd.GetScalars().GetStringData().GetData()
		}
	}
	return nil
}

// highlightField is the delegator's GetHighlight for one task, then the
// proxy's buildStringFragments.
func (p *highlightPlan) highlightField(t *highlightTask, data *schemapb.SearchResultData, rows int) *commonpb.HighlightResult {
	texts := columnStrings(data, t.field)
	names := columnStrings(data, t.nameField)
	queryTokens := map[string]bool{}
	for _, q := range t.queryTexts {
		for _, tok := range t.corpusAnalyzer("").Analyze(q) {
			queryTokens[tok.Text] = true
		}
	}
	res := &commonpb.HighlightResult{FieldName: t.field.GetName(), Datas: make([]*commonpb.HighlightData, 0, rows)}
	row := 0
	for qi, topk := range data.GetTopks() {
		searchTokens := map[string]bool{}
		if qi < len(t.searchTexts) {
			for _, tok := range t.searchAn.Analyze(t.searchTexts[qi]) {
				searchTokens[tok.Text] = true
			}
		}
		for j := int64(0); j < topk && row < rows; j++ {
			text := ""
			if row < len(texts) {
				text = texts[row]
			}
			name := ""
			if row < len(names) {
				name = names[row]
			}
			var spans []hlSpan
			for _, tok := range t.corpusAnalyzer(name).Analyze(text) {
				if searchTokens[tok.Text] || queryTokens[tok.Text] {
					spans = append(spans, hlSpan{int64(tok.Start), int64(tok.End)})
				}
			}
			spans = mergeSpans(spans)
			runeSpans(text, spans)
			frags := fragments(text, spans, p.h.fragOff, p.h.fragSize, p.h.fragNum)
			res.Datas = append(res.Datas, p.h.render(text, frags))
			row++
		}
	}
	return res
}

// corpusAnalyzer is the analyzer of a hit's text: the field's, or for a
// multi-language analyzer the one the row's name field picks.
func (t *highlightTask) corpusAnalyzer(name string) *analyzer.Analyzer {
	if t.fn != nil {
		return t.fn.AnalyzerFor(name)
	}
	return t.single
}

type hlSpan [2]int64

// hlFragment is a fragment [start, end) of a text with its marked terms'
// [start, end) pairs, in characters (Milvus's querypb.HighlightFragment).
type hlFragment struct {
	start, end int64
	offsets    []int64
}

// mergeSpans sorts spans and merges overlapping and touching ones
// (Milvus's mergeOffsets).
func mergeSpans(in []hlSpan) []hlSpan {
	sort.Slice(in, func(i, j int) bool {
		if in[i][0] == in[j][0] {
			return in[i][1] < in[j][1]
		}
		return in[i][0] < in[j][0]
	})
	maxEnd := int64(-1)
	var out []hlSpan
	for _, s := range in {
		if s[1] <= maxEnd {
			continue
		}
		if len(out) == 0 || s[0] > out[len(out)-1][1] {
			out = append(out, s)
		} else {
			out[len(out)-1][1] = s[1]
		}
		maxEnd = s[1]
	}
	return out
}

// runeSpans turns byte offsets into character offsets.
func runeSpans(text string, spans []hlSpan) {
	if len(spans) == 0 {
		return
	}
	runeAt := make(map[int64]int64, 2*len(spans)+1)
	n := int64(0)
	for i := range text {
		runeAt[int64(i)] = n
		n++
	}
	runeAt[int64(len(text))] = n
	for i := range spans {
		spans[i][0], spans[i][1] = runeAt[spans[i][0]], runeAt[spans[i][1]]
	}
}

// fragments groups spans into fragments as Milvus's
// fetchFragmentsFromOffsets does.
func fragments(text string, spans []hlSpan, fragOff, fragSize, fragNum int64) []hlFragment {
	textLen := int64(utf8.RuneCountInString(text))
	var out []hlFragment
	var cur *hlFragment
	for _, s := range spans {
		if cur != nil && s[0] <= cur.end {
			cur.offsets = append(cur.offsets, s[0], s[1])
			cur.end = max(cur.end, s[1])
			continue
		}
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
		if int64(len(out)) >= fragNum {
			break
		}
		start := max(0, s[0]-fragOff)
		cur = &hlFragment{start: start, end: min(max(s[1], start+fragSize), textLen), offsets: []int64{s[0], s[1]}}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// render writes fragments with their terms between the tags, cycling
// through pre_tags and post_tags (Milvus's buildStringFragments).
func (h *lexicalHighlighter) render(text string, frags []hlFragment) *commonpb.HighlightData {
	runes := []rune(text)
	d := &commonpb.HighlightData{Fragments: make([]string, 0, len(frags))}
	for _, f := range frags {
		var b strings.Builder
		cursor := f.start
		for i := 0; i < len(f.offsets)/2; i++ {
			s, e := f.offsets[2*i], f.offsets[2*i+1]
			if cursor < s {
				b.WriteString(string(runes[cursor:s]))
			}
			b.WriteString(h.preTags[i%len(h.preTags)])
			b.WriteString(string(runes[s:e]))
			b.WriteString(h.postTags[i%len(h.postTags)])
			cursor = e
		}
		if cursor < f.end {
			b.WriteString(string(runes[cursor:f.end]))
		}
		d.Fragments = append(d.Fragments, b.String())
	}
	return d
}

// placeholderTexts are the VarChar values of a BM25 search's placeholder.
func placeholderTexts(raw []byte) ([]string, error) {
	var g commonpb.PlaceholderGroup
	if err := proto.Unmarshal(raw, &g); err != nil {
		return nil, errInvalidMsg("invalid placeholder group: %v", err)
	}
	if len(g.GetPlaceholders()) == 0 {
		return nil, nil
	}
	ph := g.GetPlaceholders()[0]
	if ph.GetType() != commonpb.PlaceholderType_VarChar {
		return nil, errInvalidMsg("please provide varchar/text for BM25 Function based search, got %s", ph.GetType().String())
	}
	out := make([]string, len(ph.GetValues()))
	for i, v := range ph.GetValues() {
		out[i] = string(v)
	}
	return out, nil
}

// bm25FunctionOf is the BM25 function whose output is a field.
func bm25FunctionOf(schema *schemapb.CollectionSchema, outputID int64) (bm25.Function, bool) {
	fns, err := bm25.Functions(schema)
	if err != nil {
		return bm25.Function{}, false
	}
	for _, fn := range fns {
		if fn.Output.GetFieldID() == outputID {
			return fn, true
		}
	}
	return bm25.Function{}, false
}

// bm25FunctionOfInput is the BM25 function a field feeds.
func bm25FunctionOfInput(schema *schemapb.CollectionSchema, inputID int64) (bm25.Function, bool) {
	fns, err := bm25.Functions(schema)
	if err != nil {
		return bm25.Function{}, false
	}
	for _, fn := range fns {
		if fn.Input.GetFieldID() == inputID {
			return fn, true
		}
	}
	return bm25.Function{}, false
}
