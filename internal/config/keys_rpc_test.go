package config

import "testing"

// TestFramedSearchKey: milvago.rpc.framedSearch is on by default and
// turned off by each source (file, environment, flag).
func TestFramedSearchKey(t *testing.T) {
	if c := Default(Cluster); !c.Milvago.RPC.FramedSearch {
		t.Fatal("milvago.rpc.framedSearch is off by default")
	}
	if got := EnvName("milvago.rpc.framedSearch"); got != "MILVAGO_RPC_FRAMED_SEARCH" {
		t.Fatalf("environment variable %s", got)
	}
	f, err := parseFlags(t, "--milvago.rpc.framedSearch=false")
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]Options{
		"file": {File: writeFile(t, "milvago:\n  rpc:\n    framedSearch: false\n")},
		"env":  {Env: []string{"MILVAGO_RPC_FRAMED_SEARCH=false"}},
		"flag": {Flags: f},
	} {
		opts.Mode = Standalone
		c, _, err := Load(opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Milvago.RPC.FramedSearch {
			t.Errorf("%s: milvago.rpc.framedSearch false not honoured", name)
		}
	}
	if _, _, err := Load(Options{Mode: Standalone, Env: []string{"MILVAGO_RPC_FRAMED_SEARCH=sometimes"}}); err == nil {
		t.Error("milvago.rpc.framedSearch=sometimes accepted")
	}
}
