package deploy

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestCompose loads deploy/compose/docker-compose.yaml as docker compose
// does (compose-go validates it against the compose specification's
// schema, interpolates it and checks that every reference resolves), then
// checks that each Milvago service runs a real role with the mounted
// config file, and that the config file points at the compose services.
func TestCompose(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"compose/docker-compose.yaml"},
		cli.WithWorkingDirectory("compose"), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	roles := knownRoles(t)

	counts := map[string]int{}
	var configFile string
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		svc := p.Services[name]
		if svc.Build == nil && !strings.HasPrefix(svc.Image, "milvago") {
			continue // etcd, NATS, MinIO
		}
		role, cfgPath := milvagoCommand(t, name, svc.Command, roles)
		counts[role]++
		src := mountedFile(t, name, svc, cfgPath)
		if configFile != "" && src != configFile {
			t.Errorf("service %s mounts %s, others %s: every role should read one file", name, src, configFile)
		}
		configFile = src
		for _, dep := range []string{"etcd", "minio", "nats1", "nats2", "nats3"} {
			if _, ok := svc.DependsOn[dep]; !ok {
				t.Errorf("service %s does not depend on %s", name, dep)
			}
		}
	}
	for role, want := range map[string]int{"mixcoord": 1, "proxy": 2, "querynode": 2, "datanode": 1, "indexnode": 1, "streamingnode": 1} {
		if counts[role] < want {
			t.Errorf("%d %s services, want at least %d", counts[role], role, want)
		}
	}
	if configFile == "" {
		t.Fatal("no Milvago service")
	}

	data, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	c := parseConfig(t, data)
	service := func(key string, e endpoint, port int) {
		t.Helper()
		if _, ok := p.Services[e.host]; !ok {
			t.Errorf("milvago.yaml: %s names host %q, not a compose service", key, e.host)
		}
		if e.port != port {
			t.Errorf("milvago.yaml: %s port %d, want %d", key, e.port, port)
		}
	}
	for _, e := range endpoints(t, "etcd.endpoints", c.str(t, "etcd.endpoints"), 2379) {
		service("etcd.endpoints", e, 2379)
	}
	service("minio.address", endpoints(t, "minio.address", c.str(t, "minio.address"), c.port(t, "minio.port"))[0], 9000)
	if mq := c.str(t, "mq.type"); mq != "natsmq" {
		t.Errorf("mq.type %q, want natsmq", mq)
	}
	nats := endpoints(t, "milvago.natsmq.url", c.str(t, "milvago.natsmq.url"), 4222)
	if len(nats) != 3 {
		t.Errorf("milvago.natsmq.url names %d servers, want the 3 of the NATS cluster", len(nats))
	}
	for _, e := range nats {
		service("milvago.natsmq.url", e, 4222)
	}
	if r := c.str(t, "milvago.natsmq.replicas"); r != "3" {
		t.Errorf("milvago.natsmq.replicas %s, want 3 on a 3-server cluster", r)
	}

	// The proxies publish the port the config gives them.
	for name, svc := range p.Services {
		if !slices.Contains(svc.Command, "proxy") {
			continue
		}
		published := false
		for _, port := range svc.Ports {
			published = published || int(port.Target) == c.port(t, "proxy.port")
		}
		if !published {
			t.Errorf("proxy service %s does not publish proxy.port %d", name, c.port(t, "proxy.port"))
		}
	}

	// The NATS servers route to each other.
	natsText, err := os.ReadFile("compose/nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	var routed []string
	for _, r := range natsConf(t, "compose", string(natsText)) {
		host, port, _ := strings.Cut(r, ":")
		if port != "6222" {
			t.Errorf("nats.conf: route %s: want port 6222", r)
		}
		routed = append(routed, host)
	}
	slices.Sort(routed)
	if want := []string{"nats1", "nats2", "nats3"}; !slices.Equal(routed, want) {
		t.Errorf("nats.conf routes to %v, want %v", routed, want)
	}
	for _, n := range routed {
		svc, ok := p.Services[n]
		if !ok {
			t.Errorf("nats.conf routes to %s, not a compose service", n)
			continue
		}
		if i := slices.Index(svc.Command, "-n"); i < 0 || i+1 >= len(svc.Command) || svc.Command[i+1] != n {
			t.Errorf("NATS service %s: command %q does not name the server %s (-n)", n, svc.Command, n)
		}
	}
}

// milvagoCommand checks a Milvago container's arguments: `run ROLE
// --config PATH` or `standalone --config PATH`.
func milvagoCommand(t *testing.T, service string, cmd []string, roles map[string]bool) (role, config string) {
	t.Helper()
	switch {
	case len(cmd) >= 2 && cmd[0] == "run":
		role = cmd[1]
		if !roles[role] {
			t.Errorf("%s: command %q: %q is not a role (roles: %v)", service, cmd, role, slices.Sorted(maps.Keys(roles)))
		}
	case len(cmd) >= 1 && cmd[0] == "standalone":
		role = "standalone"
	default:
		t.Errorf("%s: command %q: want run ROLE or standalone", service, cmd)
		return "", ""
	}
	i := slices.Index(cmd, "--config")
	if i < 0 || i+1 >= len(cmd) || !strings.HasPrefix(cmd[i+1], "/") {
		t.Errorf("%s: command %q has no --config /absolute/path", service, cmd)
		return role, ""
	}
	return role, cmd[i+1]
}

// mountedFile returns the host file bound at path in svc.
func mountedFile(t *testing.T, service string, svc types.ServiceConfig, path string) string {
	t.Helper()
	for _, v := range svc.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == path {
			if fi, err := os.Stat(v.Source); err != nil || fi.IsDir() {
				t.Errorf("%s: %s is mounted from %s, which is not a file (%v)", service, path, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s: the config file should be mounted read-only", service)
			}
			return filepath.Clean(v.Source)
		}
	}
	t.Errorf("%s: --config %s is not a mounted file", service, path)
	return ""
}
