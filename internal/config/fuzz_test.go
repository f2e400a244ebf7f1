package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoadYAML: no file makes Load panic or hang, and whatever it accepts
// is a resolved, valid configuration.
func FuzzLoadYAML(f *testing.F) {
	milvus, err := os.ReadFile("testdata/milvus.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(milvus),
		"etcd:\n  endpoints: [a:1, b:2]\nproxy:\n  port: 19530\n  http:\n    port: 19530\n",
		"mq:\n  type: natsmq\nmilvago:\n  natsmq:\n    url: nats://n:4222\n    replicas: 3\n",
		"base: &b\n  port: 1\nproxy:\n  <<: *b\nmixCoord:\n  port: \n",
		"etcd: x\n", "- a\n- b\n", "a: &a [*a]\n", "{}", "",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, cluster bool) {
		mode := Standalone
		if cluster {
			mode = Cluster
		}
		var rep Report
		l := loader{values: map[string]value{}, report: &rep}
		if err := l.readYAML("fuzz.yaml", data); err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") && !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error without the file's name or a key: %v", err)
			}
			return
		}
		c, err := l.build(mode)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error without a key: %v", err)
			}
			return
		}
		if c.MQ.Type == MQDefault || c.MixCoord.Port < 0 || c.Proxy.HTTP.Port != c.Proxy.Port || len(c.Etcd.Endpoints) == 0 {
			t.Errorf("accepted an unresolved configuration: %+v", c)
		}
		if err := c.validate(mode); err != nil {
			t.Errorf("accepted, then invalid: %v", err)
		}
	})
}
