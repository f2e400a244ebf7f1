package analyzer

import (
	"strings"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/arabic"
	"github.com/blevesearch/snowballstem/danish"
	"github.com/blevesearch/snowballstem/dutch"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/finnish"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/hungarian"
	"github.com/blevesearch/snowballstem/italian"
	"github.com/blevesearch/snowballstem/norwegian"
	"github.com/blevesearch/snowballstem/portuguese"
	"github.com/blevesearch/snowballstem/romanian"
	"github.com/blevesearch/snowballstem/russian"
	"github.com/blevesearch/snowballstem/spanish"
	"github.com/blevesearch/snowballstem/swedish"
	"github.com/blevesearch/snowballstem/tamil"
	"github.com/blevesearch/snowballstem/turkish"
)

// stemmers are Milvus's stemmer languages (tantivy's Language) that
// snowballstem provides; Greek is the one it lacks.
var stemmers = map[string]func(*snowballstem.Env) bool{
	"arabic": arabic.Stem, "arabig": arabic.Stem, // Milvus accepts the typo
	"danish": danish.Stem, "dutch": dutch.Stem, "english": english.Stem,
	"finnish": finnish.Stem, "french": french.Stem, "german": german.Stem,
	"hungarian": hungarian.Stem, "italian": italian.Stem, "norwegian": norwegian.Stem,
	"portuguese": portuguese.Stem, "romanian": romanian.Stem, "russian": russian.Stem,
	"spanish": spanish.Stem, "swedish": swedish.Stem, "tamil": tamil.Stem,
	"turkish": turkish.Stem,
}

func newStemmer(lang string) (stemmer, error) {
	l := strings.ToLower(lang)
	if f, ok := stemmers[l]; ok {
		return stemmer{stem: f}, nil
	}
	return stemmer{}, errorf("create stemmer failed : unsupport language: %s", l)
}
