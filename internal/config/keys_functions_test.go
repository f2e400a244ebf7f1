package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFunctionKeys: provider keys and credential.<name>.apikey come from
// the file in milvus.yaml's layout; other credential kinds are reported as
// Milvus keys Milvago does not use.
func TestFunctionKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "milvus.yaml")
	yaml := `
credential:
  apikey1:
    apikey: sk-one
  aksk1:
    access_key_id: a
    secret_access_key: b
  mine:
    apikey: sk-mine
function:
  textEmbedding:
    providers:
      tei:
        enable: false
      openai:
        credential: mine
        url: http://127.0.0.1:1/v1/embeddings
      zilliz:
        enable: FALSE
      cohere:
        enable: "no"
  rerank:
    model:
      providers:
        vllm:
          enable: false
        ali:
          enable: False
          url: http://127.0.0.1:2/rerank
        zilliz:
          enable: false
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, rep, err := Load(Options{Mode: Standalone, File: path, Env: []string{"MILVUS_OPENAI_API_KEY=sk-env", "HOME=/root", "MILVUS_CONF_X=1"}})
	if err != nil {
		t.Fatal(err)
	}
	te := c.Function.TextEmbedding.Providers
	if te.TEI.Enable || !te.OpenAI.Enable || te.OpenAI.Credential != "mine" || te.OpenAI.URL != "http://127.0.0.1:1/v1/embeddings" {
		t.Errorf("text embedding providers: %+v", te)
	}
	// Milvus's models.IsEnable: only "false", in any case, disables.
	if te.Zilliz.Enable || !te.Cohere.Enable || !te.Gemini.Enable {
		t.Errorf("zilliz/cohere/gemini enable: %+v", te)
	}
	if rr := c.Function.Rerank.Model.Providers; !rr.TEI.Enable || rr.VLLM.Enable || rr.Ali.Enable || rr.Ali.URL != "http://127.0.0.1:2/rerank" || rr.Zilliz.Enable {
		t.Errorf("rerank providers: %+v", rr)
	}
	if len(c.Credentials) != 2 || c.Credentials["apikey1"] != "sk-one" || c.Credentials["mine"] != "sk-mine" {
		t.Errorf("credentials: %v", c.Credentials)
	}
	if len(c.ModelEnv) != 1 || c.ModelEnv["MILVUS_OPENAI_API_KEY"] != "sk-env" {
		t.Errorf("model env: %v", c.ModelEnv)
	}
	ignored := map[string]bool{}
	for _, ig := range rep.Ignored {
		ignored[ig.Key] = ig.Milvus
	}
	for _, k := range []string{"function.textEmbedding.providers.zilliz.enable", "function.rerank.model.providers.ali.enable", "function.rerank.model.providers.zilliz.enable"} {
		if _, ok := ignored[k]; ok {
			t.Errorf("%s ignored", k)
		}
	}
	if _, ok := ignored["credential.aksk1.access_key_id"]; ok || c.CredentialValues["aksk1.access_key_id"] != "a" || c.CredentialValues["aksk1.secret_access_key"] != "b" {
		t.Errorf("aksk credential not read: %v, %v", c.CredentialValues, rep.Ignored)
	}
}
