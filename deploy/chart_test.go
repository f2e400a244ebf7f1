package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	chart     = "helm/milvago"
	release   = "milvago"
	namespace = "vectors"
)

// helmVersion is the helm .ci/run installs.
const helmVersion = "v4.3.2"

// helmBinary finds helm: $HELM, then PATH, then Go's bin directory (where
// `go install` puts it). Without it the chart tests skip, except in CI.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if h := filepath.Join(d, "helm"); isExec(h) {
			return h
		}
	}
	msg := "helm not found (PATH, $HELM, Go's bin directory); install it with: go install helm.sh/helm/v4/cmd/helm@" + helmVersion
	if ci() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), helmBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// helm keeps no state for template and lint; keep it off $HOME.
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// scenario is one set of values the chart must render and pass with.
type scenario struct {
	name   string
	values string // YAML, "" for the defaults
	// want: the role Deployments and their replicas, and which bundled
	// services render.
	deployments map[string]int32
	bundled     []string // among etcd, nats, minio
	// advertisePodIP: every role sets ROLE_IP from the pod IP.
	advertisePodIP bool
}

var scenarios = []scenario{
	{
		name:        "defaults",
		deployments: map[string]int32{"proxy": 2, "mixcoord": 1, "querynode": 2, "datanode": 1, "indexnode": 1, "streamingnode": 1},
		bundled:     []string{"etcd", "minio", "nats"},
	},
	{
		name: "external-services",
		values: `
etcd: {enabled: false, external: {endpoints: ["etcd-a.db:2379", "etcd-b.db:2379", "etcd-c.db:2379"]}}
nats: {enabled: false, external: {url: "nats://nats.messaging:4222"}, streamReplicas: 3}
minio: {enabled: false}
s3: {address: s3.eu-west-1.amazonaws.com, port: 443, useSSL: true, region: eu-west-1, existingSecret: milvago-s3-credentials}
service: {type: LoadBalancer, annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}}
image: {repository: registry.example.com/milvago, tag: "1.2.3"}
imagePullSecrets: [{name: registry}]
`,
		deployments: map[string]int32{"proxy": 2, "mixcoord": 1, "querynode": 2, "datanode": 1, "indexnode": 1, "streamingnode": 1},
	},
	{
		name: "separate-coordinators",
		values: `
roles:
  mixcoord: {replicas: 0}
  rootcoord: {replicas: 2}
  datacoord: {replicas: 2}
  querycoord: {replicas: 2}
  indexcoord: {replicas: 1}
  querynode: {replicas: 4}
config:
  extra: {common: {security: {authorizationEnabled: true}}}
advertisePodIP: true
`,
		advertisePodIP: true,
		deployments:    map[string]int32{"proxy": 2, "rootcoord": 2, "datacoord": 2, "querycoord": 2, "indexcoord": 1, "querynode": 4, "datanode": 1, "indexnode": 1, "streamingnode": 1},
		bundled:        []string{"etcd", "minio", "nats"},
	},
	{
		name: "small",
		values: `
etcd: {replicas: 1, persistence: {enabled: false}}
nats: {replicas: 1, streamReplicas: 1, persistence: {enabled: false}}
minio: {persistence: {enabled: false}}
roles: {proxy: {replicas: 1}, querynode: {replicas: 1}}
`,
		deployments: map[string]int32{"proxy": 1, "mixcoord": 1, "querynode": 1, "datanode": 1, "indexnode": 1, "streamingnode": 1},
		bundled:     []string{"etcd", "minio", "nats"},
	},
}

// TestChart renders the chart for each scenario with helm, lints it, and
// validates every object (see validate).
func TestChart(t *testing.T) {
	helmBinary(t)
	roles := knownRoles(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			args := []string{chart}
			if sc.values != "" {
				f := filepath.Join(t.TempDir(), "values.yaml")
				if err := os.WriteFile(f, []byte(sc.values), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--values", f)
			}
			if out, err := helm(t, append([]string{"lint", "--strict", "--namespace", namespace}, args...)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out, err := helm(t, append([]string{"template", release, "--namespace", namespace}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeAll(t, out)
			advertised := validate(t, objs, roles)
			checkScenario(t, objs, sc)
			for role := range sc.deployments {
				if advertised[role] != sc.advertisePodIP {
					t.Errorf("role %s sets its IP from the pod: %v, want %v", role, advertised[role], sc.advertisePodIP)
				}
			}
		})
	}
}

// TestChartRefuses checks that values that cannot work fail at render
// time with a message naming the value.
func TestChartRefuses(t *testing.T) {
	helmBinary(t)
	for _, tc := range []struct{ values, want string }{
		{"etcd: {enabled: false}", "etcd.external.endpoints is required"},
		{"nats: {enabled: false}", "nats.external.url is required"},
		{"minio: {enabled: false}", "s3.address is required"},
	} {
		f := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(f, []byte(tc.values), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := helm(t, "template", release, chart, "--namespace", namespace, "--values", f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %q: err = %v, want %q", tc.values, err, tc.want)
		}
	}
}
