package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
)

// TestCommandTree checks the command paths scripts depend on: `milvago
// bench ann` (its interface is fixed, ../shared/bench compares against it),
// `milvago standalone`, `milvago run ROLE` and `milvago version`; both
// server commands list every configuration key as a flag.
func TestCommandTree(t *testing.T) {
	var everyKey []string
	for _, k := range config.Keys() {
		everyKey = append(everyKey, "--"+k.Name+" ")
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"bench", "ann", "--help"}, []string{"--dataset", "--index", "--metric", "--build", "--search", "--k", "--queries", "--threads", "--json"}},
		{[]string{"standalone", "--help"}, append([]string{"--data-dir", "--port", "--metrics-port", "--sync-always", "--log-level", "--config"}, everyKey...)},
		{[]string{"run", "--help"}, append([]string{"--config", "proxy, rootcoord, datacoord, querycoord, indexcoord, mixcoord, querynode, datanode, indexnode, streamingnode"}, everyKey...)},
		{[]string{"run", "querynode", "--help"}, append([]string{"--config", "(env ETCD_ENDPOINTS)", "(env MINIO_ACCESS_KEY_ID)"}, everyKey...)},
		{[]string{"version"}, []string{"Milvus API"}},
	} {
		out, err := execute(t, runners{}, tc.args...)
		if err != nil {
			t.Fatalf("milvago %s: %v\n%s", strings.Join(tc.args, " "), err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("milvago %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

// recorder stands in for the servers: it records what a command would
// have started.
type recorder struct {
	standalone *app.StandaloneConfig
	role       string
	cfg        *config.Config
	logger     *slog.Logger
}

func (r *recorder) runners() runners {
	return runners{
		standalone: func(_ context.Context, cfg app.StandaloneConfig, logger *slog.Logger) error {
			r.standalone, r.logger = &cfg, logger
			return nil
		},
		role: func(_ context.Context, role string, cfg *config.Config, logger *slog.Logger) error {
			r.role, r.cfg, r.logger = role, cfg, logger
			return nil
		},
	}
}

func execute(t *testing.T, run runners, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand(run)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "milvus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStandaloneFlags: the flags that predate --config work as before,
// alone and over a file.
func TestStandaloneFlags(t *testing.T) {
	file := writeConfig(t, "proxy:\n  port: 19600\ncommon:\n  MetricsPort: 9600\nmilvago:\n  dataDir: /from/file\n  syncAlways: true\nlog:\n  level: warn\n")
	for _, tc := range []struct {
		args []string
		want app.StandaloneConfig
	}{
		{[]string{"standalone"}, app.DefaultStandalone()},
		{[]string{"standalone", "--data-dir", "/d", "--port", "1", "--metrics-port", "2", "--sync-always", "--log-level", "debug"},
			app.StandaloneConfig{DataDir: "/d", Port: 1, MetricsPort: 2, SyncAlways: true}},
		{[]string{"standalone", "--config", file}, app.StandaloneConfig{DataDir: "/from/file", Port: 19600, MetricsPort: 9600, SyncAlways: true}},
		{[]string{"standalone", "--config", file, "--port=19700", "--milvago.dataDir=/flag", "--sync-always=false"},
			app.StandaloneConfig{DataDir: "/flag", Port: 19700, MetricsPort: 9600}},
	} {
		var r recorder
		out, err := execute(t, r.runners(), tc.args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		got := r.standalone
		if got == nil || got.DataDir != tc.want.DataDir || got.Port != tc.want.Port || got.MetricsPort != tc.want.MetricsPort || got.SyncAlways != tc.want.SyncAlways {
			t.Errorf("%v: started %+v, want %+v", tc.args, got, tc.want)
		}
	}
	// --log-level sets the logger's level.
	var r recorder
	if _, err := execute(t, r.runners(), "standalone", "--log-level", "warn"); err != nil {
		t.Fatal(err)
	}
	if ctx := context.Background(); r.logger.Enabled(ctx, slog.LevelInfo) || !r.logger.Enabled(ctx, slog.LevelWarn) {
		t.Errorf("--log-level warn: logger level wrong")
	}
}

// TestEnvironment: Milvus's environment variables reach the commands,
// below the flags.
func TestEnvironment(t *testing.T) {
	t.Setenv("MILVUS_CONF_PROXY_PORT", "19800")
	t.Setenv("MILVAGO_DATA_DIR", "/from/env")
	var r recorder
	if out, err := execute(t, r.runners(), "standalone", "--data-dir", "/flag"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.standalone.Port != 19800 || r.standalone.DataDir != "/flag" {
		t.Errorf("started %+v", r.standalone)
	}
}

// TestRun: `milvago run ROLE --config FILE` hands the role and the loaded
// configuration to app.RunRole.
func TestRun(t *testing.T) {
	file := writeConfig(t, `etcd:
  endpoints:
    - etcd-0:2379
    - etcd-1:2379
    - etcd-2:2379
  rootPath: prod
minio:
  address: s3.example.com
  port: 443
  useSSL: true
  bucketName: vectors
mq:
  type: natsmq
milvago:
  natsmq:
    url: nats://nats-0:4222,nats://nats-1:4222
    replicas: 3
queryNode:
  port: 21200
`)
	for _, role := range config.Roles() {
		var r recorder
		out, err := execute(t, r.runners(), "run", role, "--config", file, "--queryNode.ip=10.1.2.3")
		if err != nil {
			t.Fatalf("run %s: %v\n%s", role, err, out)
		}
		c := r.cfg
		if r.role != role || c == nil {
			t.Fatalf("run %s: started %q", role, r.role)
		}
		if !reflect.DeepEqual(c.Etcd.Endpoints, []string{"etcd-0:2379", "etcd-1:2379", "etcd-2:2379"}) || c.Etcd.RootPath != "prod" ||
			c.Minio.Endpoint() != "s3.example.com:443" || !c.Minio.UseSSL || c.Minio.BucketName != "vectors" ||
			c.MQ.Type != config.MQNats || c.Milvago.NatsMQ.Replicas != 3 || c.QueryNode != (config.Endpoint{IP: "10.1.2.3", Port: 21200}) {
			t.Errorf("run %s: config %+v", role, c)
		}
	}
}

// TestRefused: bad roles and bad values stop the command before anything
// starts, naming the role list, the key or the flag.
func TestRefused(t *testing.T) {
	bad := writeConfig(t, "proxy:\n  port: 99999\n")
	unknown := writeConfig(t, "etcd:\n  endpoint: typo:2379\nmilvago:\n  natsmq:\n    url: nats://n:4222\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "coordinator"}, []string{`unknown role "coordinator"`, "proxy, rootcoord, datacoord, querycoord, indexcoord, mixcoord, querynode, datanode, indexnode, streamingnode"}},
		{[]string{"run"}, []string{"want one role", "streamingnode"}},
		{[]string{"run", "proxy", "datanode"}, []string{"want one role"}},
		{[]string{"run", "proxy"}, []string{"milvago.natsmq.url"}}, // cluster mode needs a broker
		{[]string{"run", "proxy", "--mq.type=kafka"}, []string{"kafka.brokerList"}},
		{[]string{"run", "proxy", "--mq.type=embedded"}, []string{"mq.type", "embedded"}},
		{[]string{"run", "proxy", "--config", bad}, []string{"proxy.port", "99999", bad}},
		{[]string{"standalone", "--config", bad}, []string{"proxy.port", "99999"}},
		{[]string{"standalone", "--config", filepath.Join(t.TempDir(), "none.yaml")}, []string{"none.yaml"}},
		{[]string{"standalone", "--port", "70000"}, []string{"--port", "70000"}},
		{[]string{"standalone", "--log-level", "loud"}, []string{"--log-level", "loud"}},
		{[]string{"standalone", "--mq.type", "pulsar"}, []string{"--mq.type", "pulsar"}},
		{[]string{"standalone", "--port", "1", "--proxy.port", "2"}, []string{"proxy.port", "--port"}},
		{[]string{"standalone", "extra"}, []string{"extra"}},
	} {
		var r recorder
		out, err := execute(t, r.runners(), tc.args...)
		if err == nil {
			t.Errorf("%v: accepted", tc.args)
			continue
		}
		if r.standalone != nil || r.role != "" {
			t.Errorf("%v: started something", tc.args)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, err, w)
			}
		}
		_ = out
	}
	// An unknown key is a warning on stderr, not an error.
	var r recorder
	out, err := execute(t, r.runners(), "run", "datanode", "--config", unknown)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `msg="unknown config key ignored" key=etcd.endpoint`) {
		t.Errorf("no warning for etcd.endpoint:\n%s", out)
	}
}
