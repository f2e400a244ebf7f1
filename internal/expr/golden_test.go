package expr

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt golden outputs")

// TestGolden reads testdata/*.txt: cases of an input expression, a line
// "----", the expected canonical String() or "error: <message>", and a
// blank line. Run with -update to regenerate the outputs.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			for i := 0; i < len(lines); i++ {
				line := lines[i]
				if line == "" || strings.HasPrefix(line, "#") {
					out.WriteString(line + "\n")
					continue
				}
				input := line
				want := ""
				if i+2 < len(lines) && lines[i+1] == "----" {
					want = lines[i+2]
					i += 2
				}
				got := goldenResult(schemaFor(file), input)
				if !*update && got != want {
					t.Errorf("%s:\n  input: %s\n  got:   %s\n  want:  %s", file, input, got, want)
				}
				out.WriteString(input + "\n----\n" + got + "\n")
			}
			if *update {
				if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// schemaFor is the test schema, without the dynamic field for files named
// static_*.txt.
func schemaFor(file string) *schemapb.CollectionSchema {
	s := testSchema()
	if strings.HasPrefix(filepath.Base(file), "static_") {
		s.EnableDynamicField = false
		s.Fields = slices.DeleteFunc(s.Fields, func(f *schemapb.FieldSchema) bool { return f.IsDynamic })
	}
	return s
}

func goldenResult(schema *schemapb.CollectionSchema, input string) string {
	e, err := Parse(schema, input, nil)
	if err != nil {
		return "error: " + strings.ReplaceAll(err.Error(), "\n", `\n`)
	}
	return e.String()
}
