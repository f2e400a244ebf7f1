package analyzer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/segment"
)

// icuTokenizer is Milvus 2.6's "icu" tokenizer (tantivy-binding
// icu_tokenizer.rs, ICU4X's WordSegmenter::try_new_auto): every segment
// between two word boundaries of the text is a token, including the runs of
// spaces and the punctuation between words (Milvus drops nothing; a
// removepunct filter does). A token's position is the number of characters
// before it and its position length its character count, as Milvus's.
//
// Word boundaries are UAX #29's, computed by github.com/blevesearch/segment
// (bleve's segmenter, generated from Unicode's break tables). UAX #29 alone
// splits ideographic and kana text into single characters; ICU instead
// segments such runs with its Chinese/Japanese dictionary. Milvago does the
// same with the dictionaries it has: a run of katakana stays one word (as
// UAX #29 and ICU keep it); the rest of a stretch of ideographs and kana goes
// through the IPADIC morphological analyzer (kagome, as the lindera
// tokenizer) if the stretch has any kana (Japanese), else through jieba's
// dictionary (Chinese; exact mode, no HMM). Runs of
// Thai, Lao, Khmer and Myanmar (which ICU segments with an LSTM model) keep
// UAX #29's boundaries: one token per character.
type icuTokenizer struct{}

func (icuTokenizer) tokenize(text string) []Token {
	var toks []Token
	pos := 0
	emit := func(start, end int) {
		n := utf8.RuneCountInString(text[start:end])
		toks = append(toks, Token{Text: text[start:end], Start: start, End: end, Position: pos, PositionLength: n})
		pos += n
	}
	seg := segment.NewWordSegmenterDirect([]byte(text))
	off := 0
	// A stretch of ideographic/kana segments, segmented when it ends.
	var stretch [][2]int
	flush := func() {
		if len(stretch) == 0 {
			return
		}
		japanese := false
		for _, sg := range stretch {
			if hasKana(text[sg[0]:sg[1]]) {
				japanese = true
				break
			}
		}
		runStart := -1
		endRun := func(end int) {
			if runStart >= 0 {
				for _, b := range cjkBounds(text[runStart:end], japanese) {
					emit(runStart+b[0], runStart+b[1])
				}
				runStart = -1
			}
		}
		for _, sg := range stretch {
			if isKatakanaWord(text[sg[0]:sg[1]]) {
				endRun(sg[0])
				emit(sg[0], sg[1])
				continue
			}
			if runStart < 0 {
				runStart = sg[0]
			}
		}
		endRun(stretch[len(stretch)-1][1])
		stretch = stretch[:0]
	}
	for seg.Segment() {
		n := len(seg.Bytes())
		start, end := off, off+n
		off = end
		if n == 0 {
			continue
		}
		if seg.Type() == segment.Ideo {
			stretch = append(stretch, [2]int{start, end})
			continue
		}
		flush()
		emit(start, end)
	}
	flush()
	if off < len(text) { // the segmenter stops on invalid UTF-8: keep the rest as one token
		emit(off, len(text))
	}
	return toks
}

// isKatakanaWord reports whether a UAX #29 segment is a katakana word
// (katakana and the prolonged sound mark only).
func isKatakanaWord(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Katakana, r) && r != 'ー' {
			return false
		}
	}
	return true
}

func hasKana(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana) })
}

// cjkBounds splits a run of ideographs and hiragana into dictionary words
// (Japanese ones if the stretch holding the run has kana, else Chinese) and
// returns their byte ranges, which cover the run.
func cjkBounds(run string, japanese bool) [][2]int {
	var words []string
	if japanese {
		if t, err := kagomeTokenizer(dictIPADIC); err == nil {
			for _, tk := range t.Tokens(run) {
				words = append(words, tk.Surface)
			}
		}
	} else if seg, err := jieba(); err == nil {
		words = seg.Cut(run, false)
	}
	var out [][2]int
	off := 0
	for _, w := range words {
		if w == "" || off+len(w) > len(run) || run[off:off+len(w)] != w {
			break // the words must tile the run; otherwise fall back below
		}
		out = append(out, [2]int{off, off + len(w)})
		off += len(w)
	}
	// Whatever the dictionary did not cover: one character per token, as UAX #29.
	for off < len(run) {
		_, n := utf8.DecodeRuneInString(run[off:])
		out = append(out, [2]int{off, off + n})
		off += n
	}
	return out
}
