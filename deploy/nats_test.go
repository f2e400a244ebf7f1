package deploy

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
)

// natsConf parses a nats-server configuration with the server's own parser
// and checks what the cluster depends on: JetStream on, a payload limit
// NATS accepts, the client port, and the cluster routes, which it returns
// (host:port).
func natsConf(t *testing.T, where, text string) []string {
	t.Helper()
	m, err := conf.Parse(text)
	if err != nil {
		t.Errorf("%s: nats.conf: %v", where, err)
		return nil
	}
	if _, ok := m["jetstream"].(map[string]any); !ok {
		t.Errorf("%s: nats.conf: no jetstream block", where)
	}
	if p, ok := m["max_payload"].(int64); !ok || p < 1<<20 || p > 64<<20 {
		t.Errorf("%s: nats.conf: max_payload %v: want 1 MiB to 64 MiB (NATS's limit)", where, m["max_payload"])
	}
	if p, ok := m["port"].(int64); !ok || p != 4222 {
		t.Errorf("%s: nats.conf: port %v, want 4222", where, m["port"])
	}
	cluster, ok := m["cluster"].(map[string]any)
	if !ok {
		return nil
	}
	if cluster["name"] == nil || cluster["listen"] != "0.0.0.0:6222" {
		t.Errorf("%s: nats.conf: cluster name %v listen %v", where, cluster["name"], cluster["listen"])
	}
	rs, _ := cluster["routes"].([]any)
	var routes []string
	for _, r := range rs {
		u, err := url.Parse(fmt.Sprint(r))
		if err != nil || u.Scheme != "nats" || u.Port() == "" {
			t.Errorf("%s: nats.conf: route %v is not nats://host:port", where, r)
			continue
		}
		routes = append(routes, u.Host)
	}
	return routes
}
