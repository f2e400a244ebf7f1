package expr

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestJSONLookup(t *testing.T) {
	f := func(doc string, path []string, want string, wantOK bool) {
		t.Helper()
		raw, ok := jsonLookup([]byte(doc), path)
		if ok != wantOK || string(raw) != want {
			t.Errorf("jsonLookup(%s, %q) = %q, %v; want %q, %v", doc, path, raw, ok, want, wantOK)
		}
	}
	f(`{"a": 1}`, []string{"a"}, `1`, true)
	f(` { "a" : { "b" : [ 1 , "x]" , {"c": true} ] } } `, []string{"a", "b", "2", "c"}, `true`, true)
	f(`{"a": {"b": [1, "x]", {"c": true}]}}`, []string{"a", "b", "1"}, `"x]"`, true)
	f(`{"a": {"b": [1]}}`, []string{"a", "b", "1"}, ``, false)
	f(`{"a\"b": 2, "a": 3}`, []string{`a"b`}, `2`, true)
	f(`{"\u0061": 4}`, []string{"a"}, `4`, true)
	f(`{"x": "}", "a": null}`, []string{"a"}, `null`, true)
	f(`{"0": 5}`, []string{"0"}, `5`, true)
	f(`[7, 8]`, []string{"1"}, `8`, true)
	f(`[7, 8]`, []string{"a"}, ``, false)
	f(`{"a": 1`, []string{"b"}, ``, false)
	f(`{"a": `, []string{"a"}, ``, false)
	f(`"str"`, []string{"a"}, ``, false)
	f(``, []string{"a"}, ``, false)
}

func TestParseJSONVal(t *testing.T) {
	f := func(raw string, kind jKind, s string) {
		t.Helper()
		v := parseJSONVal([]byte(raw))
		if v.kind != kind || v.s != s {
			t.Errorf("parseJSONVal(%s) = %+v, want kind %d s %q", raw, v, kind, s)
		}
	}
	f(`1`, jInt, "")
	f(`-0`, jInt, "")
	f(`1.0`, jFloat, "")
	f(`1e2`, jFloat, "")
	f(`99999999999999999999`, jFloat, "")
	f(`"a\nb\u00e9\ud83d\ude00"`, jString, "a\nb\u00e9\U0001F600")
	f(`"plain"`, jString, "plain")
	f(`true`, jBool, "")
	f(`null`, jNull, "")
	f(`[1]`, jArray, "")
	f(`{}`, jObject, "")
}

// TestJSONLookupRandom compares the scanner with encoding/json on random
// documents, including escapes that json.Marshal emits (<, >, &).
func TestJSONLookupRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	keys := []string{"a", "b<", "c&d", "é", "0", `q"`, ""}
	var gen func(d int) any
	gen = func(d int) any {
		switch r.IntN(6) {
		case 0:
			return r.IntN(100) - 50
		case 1:
			return keys[r.IntN(len(keys))]
		case 2:
			return r.IntN(2) == 0
		case 3:
			if d > 0 {
				a := make([]any, r.IntN(4))
				for i := range a {
					a[i] = gen(d - 1)
				}
				return a
			}
		case 4:
			if d > 0 {
				m := map[string]any{}
				for _, k := range keys {
					if r.IntN(2) == 0 {
						m[k] = gen(d - 1)
					}
				}
				return m
			}
		}
		return nil
	}
	for range 3000 {
		doc, _ := json.Marshal(gen(3))
		if r.IntN(2) == 0 {
			doc = []byte(strings.ReplaceAll(string(doc), ",", " ,\n "))
		}
		var decoded any
		if err := json.Unmarshal(doc, &decoded); err != nil {
			t.Fatal(err)
		}
		path := make([]string, 1+r.IntN(3))
		for i := range path {
			if r.IntN(3) == 0 {
				path[i] = []string{"0", "1", "2"}[r.IntN(3)]
			} else {
				path[i] = keys[r.IntN(len(keys))]
			}
		}
		want, wantOK := jsonAt(decoded, path)
		raw, ok := jsonLookup(doc, path)
		if ok != wantOK {
			t.Fatalf("%s at %q: found %v, want %v", doc, path, ok, wantOK)
		}
		if !ok {
			continue
		}
		var got any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s at %q: raw %q: %v", doc, path, raw, err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Fatalf("%s at %q: got %s, want %s", doc, path, g, w)
		}
	}
}

// FuzzJSONLookup checks that malformed documents never panic the scanner.
func FuzzJSONLookup(f *testing.F) {
	f.Add([]byte(`{"a": {"b": [1, "x", {"c": true}]}}`), "a", "b")
	f.Add([]byte(`{"a\u0062": "\ud83d"}`), "ab", "0")
	f.Fuzz(func(t *testing.T, doc []byte, k1, k2 string) {
		raw, ok := jsonLookup(doc, []string{k1, k2})
		if ok {
			v := parseJSONVal(raw)
			if v.kind == jArray {
				forEachElem(raw, func(e []byte) bool { parseJSONVal(e); return true })
			}
		}
		lookup(doc, fieldRef{})
	})
}
