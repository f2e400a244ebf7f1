package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// roleSource is where the server declares its cluster roles: the names
// `milvago run ROLE` registers sessions under.
const roleSource = "../internal/session/session.go"

// knownRoles reads the Role* string constants of roleSource, so that the
// deployment files are checked against the roles the code has, not against
// a copy of the list.
func knownRoles(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), roleSource, nil, 0)
	if err != nil {
		t.Fatalf("read the roles: %v", err)
	}
	roles := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, n := range v.Names {
				if !strings.HasPrefix(n.Name, "Role") || i >= len(v.Values) {
					continue
				}
				if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					r, _ := strconv.Unquote(lit.Value)
					roles[r] = true
				}
			}
		}
	}
	if len(roles) < 10 {
		t.Fatalf("%s declares %d roles (%v): expected the ten cluster roles", roleSource, len(roles), roles)
	}
	return roles
}

// config is a parsed milvago.yaml.
type config map[string]any

func parseConfig(t *testing.T, data []byte) config {
	t.Helper()
	var c config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("milvago.yaml: %v", err)
	}
	return c
}

// get returns the value at a dotted key ("etcd.endpoints"), or nil.
func (c config) get(key string) any {
	var cur any = map[string]any(c)
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func (c config) str(t *testing.T, key string) string {
	t.Helper()
	switch v := c.get(key).(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		t.Errorf("milvago.yaml: %s is missing", key)
	default:
		t.Errorf("milvago.yaml: %s = %v: not a scalar", key, v)
	}
	return ""
}

func (c config) port(t *testing.T, key string) int {
	t.Helper()
	s := c.str(t, key)
	p, err := strconv.Atoi(s)
	if s != "" && (err != nil || p <= 0 || p > 65535) {
		t.Errorf("milvago.yaml: %s = %q: not a port", key, s)
	}
	return p
}

// endpoint is one host:port a config points at.
type endpoint struct {
	host string
	port int
}

// endpoints splits a comma-separated list of host:port or URLs.
func endpoints(t *testing.T, key, list string, defaultPort int) []endpoint {
	t.Helper()
	var out []endpoint
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			t.Errorf("%s: empty endpoint in %q", key, list)
			continue
		}
		if strings.Contains(s, "://") {
			u, err := url.Parse(s)
			if err != nil {
				t.Errorf("%s: %q: %v", key, s, err)
				continue
			}
			s = u.Host
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			host, port = s, strconv.Itoa(defaultPort)
		}
		p, err := strconv.Atoi(port)
		if err != nil || host == "" {
			t.Errorf("%s: %q is not host:port", key, s)
			continue
		}
		out = append(out, endpoint{host, p})
	}
	return out
}

// sections maps each role to its milvus.yaml section.
var sections = map[string]string{
	"proxy": "proxy", "mixcoord": "mixCoord", "rootcoord": "rootCoord", "datacoord": "dataCoord",
	"querycoord": "queryCoord", "indexcoord": "indexCoord", "querynode": "queryNode",
	"datanode": "dataNode", "indexnode": "indexNode", "streamingnode": "streamingNode",
}

// ci is whether the tests run in CI, where a missing tool is a failure.
func ci() bool { return os.Getenv("CI") == "true" }
