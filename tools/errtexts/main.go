// Command errtexts lists the user-facing error texts of a Go package (the
// format strings given to the proxy's Milvus-shaped error constructors) and
// says, for each, whether some test file pins it. A text is pinned when its
// longest literal fragment (the format split at its verbs) occurs in a test
// file; a fragment shorter than 12 characters must match as the whole
// format, with each verb standing for any text.
//
//	go run ./tools/errtexts -pkg internal/proxy -tests internal/proxy,tests/e2e,internal/rest
//	go run ./tools/errtexts -mode rest
//
// -mode rest scans internal/rest, the REST layer's own texts: the details
// given to restErr, the Msg of errs.Error literals, the errs constructors,
// fmt.Errorf texts that do not wrap (%w) another error (rows.go's, which
// end up in a 1804 answer's detail) and string constants named *Msg or
// *Body (fixed answers such as the empty-body suffix and gin's 404).
//
// It prints "unpinned FILE:LINE TEXT" for each text no test holds and a
// summary line; -all prints the pinned ones too.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// constructors are the functions whose string arguments are error texts.
var constructors = map[string]bool{
	"errPlain": true, "errInvalidMsg": true, "errInvalidValue": true, "errInvalidRange": true,
	"errWithField": true, "errCollectionLoaded": true, "errGeometry": true,
	"errs.InvalidParameter": true, "errs.InvalidParameterValue": true, "errs.CollectionNotLoaded": true,
	"errs.PartitionNotFound": true, "errs.FieldNotFound": true, "errs.Plain": true, "errs.ImportFailed": true,
}

// restConstructors are, in -mode rest, the calls whose string arguments
// are texts besides constructors.
var restConstructors = map[string]bool{"restErr": true, "fmt.Errorf": true}

var verb = regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z%]`)

// rest is -mode rest.
var rest bool

type site struct {
	pos  string
	text string
}

func main() {
	mode := flag.String("mode", "proxy", "proxy: the proxy's constructors; rest: internal/rest's own texts")
	pkg := flag.String("pkg", "", "package directory to scan (default internal/proxy, or internal/rest with -mode rest)")
	tests := flag.String("tests", "internal/proxy,tests/e2e,internal/rest", "comma-separated directories whose _test.go files pin texts")
	all := flag.Bool("all", false, "print pinned texts too")
	flag.Parse()
	rest = *mode == "rest"
	if *pkg == "" {
		*pkg = "internal/proxy"
		if rest {
			*pkg = "internal/rest"
		}
	}
	if err := run(*pkg, strings.Split(*tests, ","), *all); err != nil {
		slog.Error("errtexts", "err", err)
		os.Exit(1)
	}
}

func run(pkg string, testDirs []string, all bool) error {
	sites, err := scan(pkg)
	if err != nil {
		return err
	}
	var corpus strings.Builder
	for _, d := range testDirs {
		files, err := filepath.Glob(filepath.Join(d, "*_test.go"))
		if err != nil {
			return fmt.Errorf("glob %s: %w", d, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("read test file: %w", err)
			}
			corpus.Write(b)
			corpus.WriteByte('\n')
		}
	}
	tc := corpus.String()
	seen := map[string]bool{}
	pinned, total := 0, 0
	for _, s := range sites {
		if seen[s.text] {
			continue
		}
		seen[s.text] = true
		total++
		ok := isPinned(s.text, tc)
		if ok {
			pinned++
		}
		if !ok || all {
			state := "unpinned"
			if ok {
				state = "pinned"
			}
			fmt.Printf("%s %s %q\n", state, s.pos, s.text)
		}
	}
	fmt.Printf("total %d distinct texts, %d pinned, %d unpinned\n", total, pinned, total-pinned)
	return nil
}

func isPinned(format, corpus string) bool {
	frags := verb.Split(format, -1)
	longest := ""
	for _, f := range frags {
		if len(f) > len(longest) {
			longest = f
		}
	}
	if len(strings.TrimSpace(longest)) >= 12 {
		return strings.Contains(corpus, strings.TrimSpace(longest))
	}
	if strings.TrimSpace(longest) == "" {
		return true // nothing literal to pin: the text is its arguments
	}
	parts := make([]string, len(frags))
	for i, f := range frags {
		parts[i] = regexp.QuoteMeta(f)
	}
	re, err := regexp.Compile(strings.Join(parts, `.+?`))
	if err != nil {
		return false
	}
	return re.MatchString(corpus)
}

func scan(dir string) ([]site, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", dir, err)
	}
	sort.Strings(files)
	var out []site
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		add := func(lit *ast.BasicLit) {
			s, err := strconv.Unquote(lit.Value)
			if err != nil || len(strings.TrimSpace(s)) < 4 || isKey(s) || (rest && strings.Contains(s, "%w")) {
				return
			}
			p := fset.Position(lit.Pos())
			out = append(out, site{pos: fmt.Sprintf("%s:%d", p.Filename, p.Line), text: s})
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if rest {
				restSites(n, add)
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || !constructors[callee(call.Fun)] && !(rest && restConstructors[callee(call.Fun)]) {
				return true
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					add(lit)
				}
			}
			return true
		})
	}
	return out, nil
}

// isKey reports whether s is an errWithField key or an expected-value word
// ("collection", "database") rather than a text.
func isKey(s string) bool {
	return !strings.ContainsAny(s, " %:[") && strings.ToLower(s) == s
}

func callee(e ast.Expr) string {
	switch f := e.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// restSites finds, in -mode rest, the texts that are not call arguments:
// the Msg of an errs.Error literal and string constants named *Msg or
// *Body.
func restSites(n ast.Node, add func(*ast.BasicLit)) {
	switch n := n.(type) {
	case *ast.CompositeLit:
		if sel, ok := n.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Error" {
			return
		}
		for _, e := range n.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if k, isID := kv.Key.(*ast.Ident); !ok || !isID || k.Name != "Msg" {
				continue
			}
			if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				add(lit)
			}
		}
	case *ast.ValueSpec:
		for i, name := range n.Names {
			if i >= len(n.Values) || !(strings.HasSuffix(name.Name, "Msg") || strings.HasSuffix(name.Name, "Body")) {
				continue
			}
			if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				add(lit)
			}
		}
	}
}
