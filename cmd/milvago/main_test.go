package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandTree checks the command paths scripts depend on: `milvago
// bench ann` (its interface is fixed, ../shared/bench compares against it),
// `milvago standalone` and `milvago version`.
func TestCommandTree(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"bench", "ann", "--help"}, []string{"--dataset", "--index", "--metric", "--build", "--search", "--k", "--queries", "--threads", "--json"}},
		{[]string{"standalone", "--help"}, []string{"--data-dir", "--port", "--metrics-port", "--sync-always"}},
		{[]string{"version"}, []string{"Milvus API"}},
	} {
		root := rootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(tc.args)
		if err := root.Execute(); err != nil {
			t.Fatalf("milvago %s: %v\n%s", strings.Join(tc.args, " "), err, out.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("milvago %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out.String())
			}
		}
	}
}
