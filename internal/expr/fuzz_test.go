package expr

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics or hangs the parser, that every
// accepted filter's canonical form parses back to itself, and that every
// accepted filter evaluates without error.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		prev := ""
		for sc.Scan() {
			line := sc.Text()
			if line == "----" && prev != "" && !strings.HasPrefix(prev, "#") {
				f.Add(prev)
			}
			prev = line
		}
		fh.Close()
	}
	f.Add(strings.Repeat("not (", 100) + "id > 1" + strings.Repeat(")", 100))
	f.Add(strings.Repeat("[", 1000))
	f.Add(`s like "%a%b%c%d%e%f%g%h%"`)
	schema := testSchema()
	batch := smallBatch()
	f.Fuzz(func(t *testing.T, text string) {
		e, err := Parse(schema, text, nil)
		if err != nil {
			return
		}
		canon := e.String()
		e2, err := Parse(schema, canon, nil)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, text, err)
		}
		if e2.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q", canon, e2.String())
		}
		got, err := e.Eval(context.Background(), batch)
		if err != nil {
			t.Fatalf("Eval(%q): %v", text, err)
		}
		got2, err := e2.Eval(context.Background(), batch)
		if err != nil {
			t.Fatalf("Eval(%q): %v", canon, err)
		}
		for i := range got.Len() {
			if got.Test(i) != got2.Test(i) {
				t.Fatalf("%q and its canonical form %q disagree on row %d", text, canon, i)
			}
		}
		data, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Unmarshal(schema, data); err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
	})
}
