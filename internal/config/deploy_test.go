package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deployment files under deploy/ configure every role through this
// package; these tests load them as `milvago run ROLE` does, so that a key
// renamed here cannot leave them behind (deploy/ is its own module, which
// checks the manifests' shape but cannot import this package).

const deployDir = "../../deploy"

// TestComposeConfig loads deploy/compose/milvago.yaml, the file every role
// of the compose deployment reads.
func TestComposeConfig(t *testing.T) {
	c, rep, err := Load(Options{Mode: Cluster, File: filepath.Join(deployDir, "compose", "milvago.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ignored) > 0 {
		t.Errorf("ignored keys %+v", rep.Ignored)
	}
	if len(c.Etcd.Endpoints) != 1 || c.Etcd.Endpoints[0] != "etcd:2379" || c.MQ.Type != MQNats ||
		c.Milvago.NatsMQ.Replicas != 3 || !strings.HasPrefix(c.Milvago.NatsMQ.URL, "nats://nats1:4222") ||
		c.Minio.Endpoint() != "minio:9000" || c.Proxy.Port != 19530 || c.MixCoord.Port != 22125 {
		t.Errorf("compose config not as deployed: %+v", c)
	}
	for _, role := range Roles() {
		if _, err := c.RoleEndpoint(role); err != nil {
			t.Errorf("role %s: %v", role, err)
		}
	}
}

// TestHelmConfig renders the Helm chart with its default values (and with
// advertisePodIP) and loads, for every role Deployment, the ConfigMap's
// milvago.yaml with the environment the Deployment gives its container.
func TestHelmConfig(t *testing.T) {
	helm := helmBinary(t)
	for _, set := range []string{"", "advertisePodIP=true"} {
		args := []string{"template", "milvago", filepath.Join(deployDir, "helm", "milvago"), "--namespace", "vectors"}
		if set != "" {
			args = append(args, "--set", set)
		}
		cmd := exec.CommandContext(t.Context(), helm, args...)
		dir := t.TempDir()
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		file, deployments := parseChart(t, out)
		if file == "" {
			t.Fatalf("--set %q: no ConfigMap with milvago.yaml", set)
		}
		for _, role := range []string{"proxy", "mixcoord", "querynode", "datanode", "indexnode", "streamingnode"} {
			if _, ok := deployments[role]; !ok {
				t.Fatalf("--set %q: no %s Deployment among %v", set, role, deployments)
			}
		}
		path := writeFile(t, file)
		for role, env := range deployments {
			c, rep, err := Load(Options{Mode: Cluster, File: path, Env: env})
			if err != nil {
				t.Errorf("--set %q: role %s: %v", set, role, err)
				continue
			}
			if len(rep.Ignored) > 0 {
				t.Errorf("--set %q: role %s: ignored keys %+v", set, role, rep.Ignored)
			}
			ep, err := c.RoleEndpoint(role)
			if err != nil {
				t.Errorf("--set %q: %v", set, err)
				continue
			}
			if set != "" && ep.IP != "10.1.2.3" {
				t.Errorf("--set %q: role %s advertises %q, not the pod IP of its environment", set, role, ep.IP)
			}
			if c.MQ.Type != MQNats || len(c.Etcd.Endpoints) != 3 || c.Minio.AccessKeyID != "value-of-MINIO_ACCESS_KEY_ID" {
				t.Errorf("--set %q: role %s: config not as deployed: %+v", set, role, c)
			}
		}
	}
}

// parseChart returns the milvago.yaml of the rendered ConfigMap and, per
// role Deployment (its "run ROLE" argument), the container's environment:
// literal values as given, values from the downward API or a Secret as
// placeholders (10.1.2.3 for an IP, value-of-NAME otherwise).
func parseChart(t *testing.T, out []byte) (string, map[string][]string) {
	t.Helper()
	type container struct {
		Args []string `yaml:"args"`
		Env  []struct {
			Name      string         `yaml:"name"`
			Value     string         `yaml:"value"`
			ValueFrom map[string]any `yaml:"valueFrom"`
		} `yaml:"env"`
	}
	type doc struct {
		Kind string            `yaml:"kind"`
		Data map[string]string `yaml:"data"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	var file string
	deployments := map[string][]string{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var d doc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered chart: %v", err)
		}
		switch d.Kind {
		case "ConfigMap":
			if f, ok := d.Data["milvago.yaml"]; ok {
				file = f
			}
		case "Deployment":
			for _, c := range d.Spec.Template.Spec.Containers {
				if len(c.Args) < 2 || c.Args[0] != "run" {
					continue
				}
				var env []string
				for _, e := range c.Env {
					v := e.Value
					if e.ValueFrom != nil {
						v = "value-of-" + e.Name
						if strings.HasSuffix(e.Name, "_IP") {
							v = "10.1.2.3"
						}
					}
					env = append(env, e.Name+"="+v)
				}
				deployments[c.Args[1]] = env
			}
		}
	}
	return file, deployments
}

// helmBinary finds helm as deploy/'s tests do: $HELM, PATH, then Go's bin
// directory. Without it the test skips, except in CI (CI=true).
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	var dirs []string
	for _, d := range []string{os.Getenv("GOBIN"), os.Getenv("GOPATH")} {
		if d != "" {
			dirs = append(dirs, d, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Join(d, "helm")); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return filepath.Join(d, "helm")
		}
	}
	msg := "helm not found ($HELM, PATH, Go's bin directory); install it with: go install helm.sh/helm/v4/cmd/helm@v4.3.2"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
