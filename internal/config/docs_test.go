package config

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the key table of docs/cluster.md")

const docsPath = "../../docs/cluster.md"

// keysTable is the Markdown table of every key that docs/cluster.md shows
// between its keys:begin and keys:end markers.
func keysTable() string {
	var b strings.Builder
	b.WriteString("| key | type | default | environment | what it does |\n|---|---|---|---|---|\n")
	for _, k := range Keys() {
		def := "`" + k.Default + "`"
		if k.Default == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` | %s |\n", k.Name, k.Type, def, k.Env, strings.ReplaceAll(k.Help, "|", `\|`))
	}
	return b.String()
}

var tableRE = regexp.MustCompile(`(?s)(<!-- keys:begin[^>]*-->\n).*?(<!-- keys:end -->)`)

// TestDocsKeyTable: docs/cluster.md lists every key as keys.go does
// (go test ./internal/config -run TestDocsKeyTable -update rewrites it).
func TestDocsKeyTable(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !tableRE.Match(doc) {
		t.Fatalf("%s has no <!-- keys:begin --> ... <!-- keys:end --> section", docsPath)
	}
	want := tableRE.ReplaceAllString(string(doc), "${1}"+strings.ReplaceAll(keysTable(), "$", "$$")+"${2}")
	if want == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the key table is out of date; run go test ./internal/config -run TestDocsKeyTable -update", docsPath)
}

var yamlBlockRE = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsExamples: every YAML block of docs/cluster.md is a cluster
// configuration that loads without errors or unknown keys.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlockRE.FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Fatalf("%s has no yaml block", docsPath)
	}
	for i, b := range blocks {
		c, rep, err := Load(Options{Mode: Cluster, File: writeFile(t, string(b[1]))})
		if err != nil {
			t.Errorf("yaml block %d: %v", i+1, err)
			continue
		}
		if len(rep.Ignored) > 0 {
			t.Errorf("yaml block %d: ignored keys %+v", i+1, rep.Ignored)
		}
		if i == 0 && (len(c.Etcd.Endpoints) != 3 || c.MQ.Type != MQNats || c.Milvago.NatsMQ.URL == "" || c.Minio.Endpoint() == "") {
			t.Errorf("the main example is not a cluster with 3 etcd endpoints, S3 and NATS: %+v", c)
		}
	}
}
