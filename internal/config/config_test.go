package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// writeFile writes a YAML file into the test's temporary directory.
func writeFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "milvus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseFlags registers every key on a fresh flag set (plus standalone's
// aliases) and parses args.
func parseFlags(t *testing.T, args ...string) (*Flags, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	f := AddFlags(fs)
	f.Alias(fs, "port", "proxy.port", "gRPC port of the Milvus API")
	f.Alias(fs, "data-dir", "milvago.dataDir", "directory holding all data")
	f.Alias(fs, "sync-always", "milvago.syncAlways", "fsync every log append")
	return f, fs.Parse(args)
}

func TestDefaults(t *testing.T) {
	s := Default(Standalone)
	if s.Proxy.Port != 19530 || s.Common.MetricsPort != 9091 || s.Milvago.DataDir != "milvago-data" || s.Milvago.SyncAlways {
		t.Errorf("standalone defaults: proxy %d metrics %d data %q sync %v", s.Proxy.Port, s.Common.MetricsPort, s.Milvago.DataDir, s.Milvago.SyncAlways)
	}
	if s.MQ.Type != MQEmbedded {
		t.Errorf("standalone mq.type default resolves to %q, want embedded", s.MQ.Type)
	}
	c := Default(Cluster)
	if c.MQ.Type != MQNats {
		t.Errorf("cluster mq.type default resolves to %q, want natsmq", c.MQ.Type)
	}
	// Milvus's default ports.
	ports := map[string]int{"proxy": 19530, "rootcoord": 22125, "datacoord": 13333, "querycoord": 19531,
		"indexcoord": 31000, "mixcoord": 22125, "querynode": 21123, "datanode": 21124, "indexnode": 21121, "streamingnode": 22222}
	if len(Roles()) != len(ports) {
		t.Errorf("roles %v", Roles())
	}
	for _, role := range Roles() {
		want := ports[role]
		ep, err := c.RoleEndpoint(role)
		if err != nil || ep.Port != want || ep.IP != "" {
			t.Errorf("%s: endpoint %+v, %v; want port %d", role, ep, err, want)
		}
	}
	if _, err := c.RoleEndpoint("coordinator"); err == nil || !strings.Contains(err.Error(), "streamingnode") {
		t.Errorf("unknown role: %v", err)
	}
	if !reflect.DeepEqual(c.Etcd.Endpoints, []string{"localhost:2379"}) || c.Minio.Endpoint() != "localhost:9000" || c.Minio.BucketName != "a-bucket" {
		t.Errorf("storage defaults: %v %q %q", c.Etcd.Endpoints, c.Minio.Endpoint(), c.Minio.BucketName)
	}
	if c.Proxy.HTTP.Port != c.Proxy.Port {
		t.Errorf("proxy.http.port default %d, want proxy.port", c.Proxy.HTTP.Port)
	}
	if c.NatsMQ.Server.MaxPayload != 8<<20 || c.Log.SlogLevel() != slog.LevelInfo {
		t.Errorf("maxPayload %d, level %v", c.NatsMQ.Server.MaxPayload, c.Log.SlogLevel())
	}
}

func TestKeysTable(t *testing.T) {
	names, norms := map[string]bool{}, map[string]string{}
	for _, k := range Keys() {
		if k.Name == "" || k.Help == "" || k.Env == "" {
			t.Errorf("%+v: incomplete", k)
		}
		switch k.Type {
		case "string", "int", "float", "bool", "port", "list":
		default:
			t.Errorf("%s: type %q", k.Name, k.Type)
		}
		if names[strings.ToLower(k.Name)] {
			t.Errorf("%s: listed twice", k.Name)
		}
		names[strings.ToLower(k.Name)] = true
		if other, ok := norms[normalize(k.Name)]; ok {
			t.Errorf("%s and %s are the same environment variable", k.Name, other)
		}
		norms[normalize(k.Name)] = k.Name
		if normalize(k.Env) != normalize(k.Name) {
			t.Errorf("%s: env %s does not normalize to the key", k.Name, k.Env)
		}
		if err := k.set(&Config{}, k.Default); err != nil {
			t.Errorf("%s: default %q refused: %v", k.Name, k.Default, err)
		}
		// Keys Milvus lacks belong in the milvago section; Milvus's are
		// spelled as Milvus spells them.
		if !strings.HasPrefix(k.Name, "milvago.") && !isMilvusKey(k.Name) && !milvusLegacy[k.Name] {
			t.Errorf("%s: not a Milvus 2.6 key, not under milvago:", k.Name)
		}
	}
}

// milvusLegacy are keys of earlier Milvus versions (natsmq until 2.5, the
// index roles' ports), or of paramtable without a line in milvus.yaml.
var milvusLegacy = map[string]bool{
	"common.MetricsPort": true, "etcd.dialTimeout": true, // paramtable only
	"indexCoord.ip": true, "indexCoord.port": true, "indexNode.ip": true, "indexNode.port": true,
	"mixCoord.ip": true, "mixCoord.port": true, // Milvus 2.6 serves mixcoord on rootCoord.ip/port
	"kafka.brokerList": true, "kafka.saslUsername": true, "kafka.saslPassword": true, "kafka.saslMechanisms": true,
	"kafka.securityProtocol": true, "kafka.ssl.enabled": true, "kafka.ssl.tlsCert": true, "kafka.ssl.tlsKey": true,
	"kafka.ssl.tlsCaCert": true, "kafka.ssl.tlsKeyPassword": true, // commented out in milvus.yaml
	"quotaAndLimits.limits.nq": true, "quotaAndLimits.limits.topK": true, "quotaAndLimits.limits.maxQueryResultWindow": true,
	"quotaAndLimits.limits.maxOutputSize":          true, // paramtable only (quota_param.go)
	"quotaAndLimits.dml.insertRate.collection.min": true, "quotaAndLimits.dml.deleteRate.collection.min": true,
	"quotaAndLimits.dml.bulkLoadRate.collection.min": true, // paramtable only (quota_param.go)
	"function.models.zilliz.endpoint":                true, "function.models.zilliz.enableTLS": true,
	"function.models.zilliz.certFile": true, "function.models.zilliz.serverNameOverride": true, // ParamGroup function.models.zilliz. (function_param.go, 2.6.5)
	"queryNode.defaultSegmentFilterRatio": true, // paramtable only (component_param.go)
	// ParamGroups function.textEmbedding.providers. and
	// function.rerank.model.providers. hold every provider the functions
	// ask for (models.IsEnable), though milvus.yaml lists only some.
	"function.textEmbedding.providers.zilliz.enable": true, "function.rerank.model.providers.zilliz.enable": true,
	"function.rerank.model.providers.ali.enable": true, "function.rerank.model.providers.ali.credential": true,
	"function.rerank.model.providers.ali.url": true,
}

func init() {
	for _, k := range keys {
		if strings.HasPrefix(k.Name, "natsmq.") {
			milvusLegacy[k.Name] = true
		}
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{
		"etcd.endpoints":                       "ETCD_ENDPOINTS",
		"minio.accessKeyID":                    "MINIO_ACCESS_KEY_ID",
		"minio.address":                        "MINIO_ADDRESS",
		"etcd.ssl.tlsCACert":                   "ETCD_SSL_TLS_CA_CERT",
		"common.MetricsPort":                   "COMMON_METRICS_PORT",
		"common.security.authorizationEnabled": "COMMON_SECURITY_AUTHORIZATION_ENABLED",
		"natsmq.server.maxFileStore":           "NATSMQ_SERVER_MAX_FILE_STORE",
		"milvago.dataDir":                      "MILVAGO_DATA_DIR",
		"proxy.http.port":                      "PROXY_HTTP_PORT",
	} {
		if got := EnvName(key); got != want {
			t.Errorf("EnvName(%s) = %s, want %s", key, got, want)
		}
	}
}

// TestPrecedence: defaults < file < environment < flags, key by key.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "proxy:\n  port: 1001\nminio:\n  bucketName: from-file\n  region: eu-1\n")
	for _, tc := range []struct {
		name  string
		file  string
		env   []string
		flags []string
		port  int
		bkt   string
	}{
		{name: "defaults", port: 19530, bkt: "a-bucket"},
		{name: "file", file: file, port: 1001, bkt: "from-file"},
		{name: "env over file", file: file, env: []string{"PROXY_PORT=1002"}, port: 1002, bkt: "from-file"},
		{name: "env without file", env: []string{"MINIO_BUCKET_NAME=from-env"}, port: 19530, bkt: "from-env"},
		{name: "flag over env over file", file: file, env: []string{"PROXY_PORT=1002", "MINIO_BUCKET_NAME=from-env"}, flags: []string{"--proxy.port=1003"}, port: 1003, bkt: "from-env"},
		{name: "alias flag", file: file, env: []string{"PROXY_PORT=1002"}, flags: []string{"--port", "1004"}, port: 1004, bkt: "from-file"},
		{name: "flag only", flags: []string{"--minio.bucketName", "from-flag"}, port: 19530, bkt: "from-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFlags(t, tc.flags...)
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := Load(Options{File: tc.file, Env: tc.env, Flags: f})
			if err != nil {
				t.Fatal(err)
			}
			if c.Proxy.Port != tc.port || c.Minio.BucketName != tc.bkt {
				t.Errorf("proxy.port %d, minio.bucketName %q; want %d, %q", c.Proxy.Port, c.Minio.BucketName, tc.port, tc.bkt)
			}
			if tc.file != "" && c.Minio.Region != "eu-1" {
				t.Errorf("minio.region %q: file value lost", c.Minio.Region)
			}
			if c.Proxy.HTTP.Port != c.Proxy.Port {
				t.Errorf("proxy.http.port %d, want proxy.port %d", c.Proxy.HTTP.Port, c.Proxy.Port)
			}
		})
	}
}

// TestEnv: Milvus's spellings of environment variables.
func TestEnv(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		get  func(*Config) any
		want any
	}{
		{[]string{"MINIO_ACCESS_KEY_ID=k1"}, func(c *Config) any { return c.Minio.AccessKeyID }, "k1"},
		{[]string{"MINIOACCESSKEYID=k2"}, func(c *Config) any { return c.Minio.AccessKeyID }, "k2"},
		{[]string{"minio.accessKeyID=k3"}, func(c *Config) any { return c.Minio.AccessKeyID }, "k3"},
		{[]string{"MILVUS_CONF_MINIO_ACCESS_KEY_ID=pre", "MINIO_ACCESS_KEY_ID=bare"}, func(c *Config) any { return c.Minio.AccessKeyID }, "pre"},
		{[]string{"MINIO_ACCESS_KEY_ID=bare", "MILVUS_CONF_MINIO_ACCESS_KEY_ID=pre"}, func(c *Config) any { return c.Minio.AccessKeyID }, "pre"},
		{[]string{"ETCD_ENDPOINTS=e1:2379, e2:2379,e3:2379"}, func(c *Config) any { return c.Etcd.Endpoints }, []string{"e1:2379", "e2:2379", "e3:2379"}},
		{[]string{"MINIO_ADDRESS=s3.local"}, func(c *Config) any { return c.Minio.Endpoint() }, "s3.local:9000"},
		{[]string{"MINIO_ADDRESS=s3.local", "MINIO_PORT=9100"}, func(c *Config) any { return c.Minio.Endpoint() }, "s3.local:9100"},
		{[]string{"MINIO_ADDRESS=s3.local:443", "MINIO_PORT=9100"}, func(c *Config) any { return c.Minio.Endpoint() }, "s3.local:443"},
		{[]string{"COMMON_SECURITY_AUTHORIZATION_ENABLED=true"}, func(c *Config) any { return c.Common.Security.AuthorizationEnabled }, true},
		{[]string{"LOG_LEVEL=debug"}, func(c *Config) any { return c.Log.SlogLevel() }, slog.LevelDebug},
		{[]string{"MILVAGO_DATA_DIR=/d", "MILVAGO_SYNC_ALWAYS=1"}, func(c *Config) any { return c.Milvago.DataDir + " " + boolStr(c.Milvago.SyncAlways) }, "/d true"},
		{[]string{"PATH=/bin", "HOME=/root", "NOEQUALS"}, func(c *Config) any { return c.Proxy.Port }, 19530},
		{[]string{"MIXCOORD_PORT=7000"}, func(c *Config) any { return c.MixCoord.Port }, 7000},
		{[]string{"ROOTCOORD_PORT=7001"}, func(c *Config) any { return c.MixCoord.Port }, 7001},
		{[]string{"PROXY_PORT="}, func(c *Config) any { return c.Proxy.Port }, 19530}, // empty: the default, as an empty yaml value
	} {
		c, _, err := Load(Options{Env: tc.env})
		if err != nil {
			t.Errorf("%v: %v", tc.env, err)
			continue
		}
		if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.env, got, tc.want)
		}
	}
	// Kubernetes's service links (a Service named minio in the namespace)
	// look like minio.port to Milvus's convention: they are skipped.
	c, rep, err := Load(Options{Env: []string{"MINIO_PORT=tcp://10.0.0.7:9000", "MINIO_PORT_9000_TCP_PORT=9000", "PROXY_PORT=tcp://10.0.0.8:19530"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Minio.Port != 9000 || c.Proxy.Port != 19530 || len(rep.Ignored) != 2 || !rep.Ignored[0].ServiceLink {
		t.Errorf("service links: minio.port %d, proxy.port %d, ignored %+v", c.Minio.Port, c.Proxy.Port, rep.Ignored)
	}
	if _, _, err := Load(Options{Env: []string{"MINIO_PORT=http://x"}}); err == nil || !strings.Contains(err.Error(), "env MINIO_PORT") {
		t.Errorf("a port that is not a service link: %v", err)
	}
	_, rep, err = Load(Options{Env: []string{"MILVUS_CONF_NO_SUCH_KEY=1", "NO_SUCH_KEY=2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ignored) != 1 || rep.Ignored[0].Key != "MILVUS_CONF_NO_SUCH_KEY" {
		t.Errorf("ignored %+v, want the MILVUS_CONF_ variable only", rep.Ignored)
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestFlags(t *testing.T) {
	f, err := parseFlags(t, "--etcd.endpoints=a:1", "--etcd.endpoints", "b:2,c:3", "--sync-always", "--minio.useSSL",
		"--common.security.tlsMode=0", "--data-dir", "/x", "--milvago.dataDir=/x")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(Options{Flags: f})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Etcd.Endpoints, []string{"a:1", "b:2", "c:3"}) || !c.Milvago.SyncAlways || !c.Minio.UseSSL || c.Milvago.DataDir != "/x" {
		t.Errorf("got %v %v %v %q", c.Etcd.Endpoints, c.Milvago.SyncAlways, c.Minio.UseSSL, c.Milvago.DataDir)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--proxy.port=70000"}, []string{"--proxy.port", "70000", "65535"}},
		{[]string{"--port=x"}, []string{"--port", `"x"`}},
		{[]string{"--mq.type=pulsar"}, []string{"--mq.type", "pulsar", "natsmq", "kafka"}},
		{[]string{"--etcd.endpoints="}, []string{"--etcd.endpoints", "empty"}},
		{[]string{"--port=1", "--proxy.port=2"}, []string{"proxy.port", "--port"}},
		{[]string{"--data-dir=/a", "--milvago.dataDir=/b"}, []string{"milvago.dataDir", "--data-dir"}},
		{[]string{"--no.such.key=1"}, []string{"no.such.key"}},
	} {
		_, err := parseFlags(t, tc.args...)
		if err == nil {
			t.Errorf("%v: accepted", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, err, w)
			}
		}
	}
}

// TestBadValues: every bad value fails the load, naming the key and the
// value.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode Mode
		yaml string
		env  []string
		want []string
	}{
		{name: "port out of range", yaml: "proxy:\n  port: 70000\n", want: []string{"proxy.port", "70000", "milvus.yaml:2"}},
		{name: "negative port", yaml: "queryNode:\n  port: -1\n", want: []string{"queryNode.port", "-1"}},
		{name: "port not a number", yaml: "common:\n  MetricsPort: nine\n", want: []string{"common.MetricsPort", "nine"}},
		{name: "s3 port zero", yaml: "minio:\n  port: 0\n", want: []string{"minio.port", `"0"`, "[1, 65535]"}},
		{name: "bool", yaml: "minio:\n  useSSL: maybe\n", want: []string{"minio.useSSL", "maybe", "true or false"}},
		{name: "unknown mq.type", yaml: "mq:\n  type: pulsar\n", want: []string{"mq.type", "pulsar", "natsmq"}},
		{name: "rocksmq", yaml: "mq:\n  type: rocksmq\n", want: []string{"mq.type", "rocksmq"}},
		{name: "empty endpoints", yaml: "etcd:\n  endpoints: \"\"\n", want: []string{"etcd.endpoints", "empty"}},
		{name: "null endpoints", yaml: "etcd:\n  endpoints:\n", want: []string{"etcd.endpoints", "empty"}},
		{name: "empty endpoints env", env: []string{"ETCD_ENDPOINTS="}, want: []string{"etcd.endpoints", "env ETCD_ENDPOINTS"}},
		{name: "empty endpoint entry", yaml: "etcd:\n  endpoints: a:1,,b:2\n", want: []string{"etcd.endpoints", "a:1,,b:2"}},
		{name: "endpoint without port", yaml: "etcd:\n  endpoints: etcd-0\n", want: []string{"etcd.endpoints", "etcd-0", "host:port"}},
		{name: "endpoint bad scheme", yaml: "etcd:\n  endpoints: grpc://etcd-0:2379\n", want: []string{"etcd.endpoints", "grpc://etcd-0:2379"}},
		{name: "broker without port", yaml: "kafka:\n  brokerList: k1:9092,k2\n", want: []string{"kafka.brokerList", `"k2"`}},
		{name: "s3 address with scheme", yaml: "minio:\n  address: http://minio:9000\n", want: []string{"minio.address", "http://minio:9000", "without scheme"}},
		{name: "s3 address bad port", yaml: "minio:\n  address: minio:nine\n", want: []string{"minio.address", "minio:nine"}},
		{name: "endpoints mapping", yaml: "etcd:\n  endpoints:\n    a: 1\n", want: []string{"etcd.endpoints", "mapping"}},
		{name: "port sequence", yaml: "proxy:\n  port: [1, 2]\n", want: []string{"proxy.port", "sequence"}},
		{name: "section scalar", yaml: "etcd: localhost:2379\n", want: []string{"etcd", "section", "localhost:2379"}},
		{name: "root scalar", yaml: "hello\n", want: []string{"mapping"}},
		{name: "bad yaml", yaml: "etcd:\n  endpoints: [a\n", want: []string{"milvus.yaml"}},
		{name: "self merge", yaml: "proxy: &p\n  port: 1\n  <<: *p\n", want: []string{"milvus.yaml:1", "merges itself"}},
		{name: "self merge in a list", yaml: "b: &b\n  x: 1\nproxy: &p\n  <<: [*b, *p]\n", want: []string{"merges itself"}},
		{name: "alias bomb", yaml: aliasBomb(), want: []string{"entries once aliases are followed"}},
		{name: "log level", yaml: "log:\n  level: loud\n", want: []string{"log.level", "loud"}},
		{name: "log format", yaml: "log:\n  format: xml\n", want: []string{"log.format", "xml", "json"}},
		{name: "tls mode", yaml: "common:\n  security:\n    tlsMode: 3\n", want: []string{"common.security.tlsMode", "3"}},
		{name: "tls mode paths", yaml: "common:\n  security:\n    tlsMode: 1\ntls:\n  serverPemPath: \"\"\n", want: []string{"tls.serverPemPath", "tlsMode is 1"}},
		{name: "mutual tls", yaml: "common:\n  security:\n    tlsMode: 2\ntls:\n  caPemPath: \"\"\n", want: []string{"tls.caPemPath"}},
		{name: "root password", yaml: "common:\n  security:\n    defaultRootPassword: " + strings.Repeat("x", 73) + "\n", want: []string{"common.security.defaultRootPassword", "72", "(secret, 73 characters)"}},
		{name: "replicas", yaml: "milvago:\n  natsmq:\n    replicas: 2\n", want: []string{"milvago.natsmq.replicas", `"2"`, "1, 3 or 5"}},
		{name: "stream prefix", yaml: "milvago:\n  natsmq:\n    streamPrefix: a.b\n", want: []string{"milvago.natsmq.streamPrefix", "a.b"}},
		{name: "max payload", yaml: "natsmq:\n  server:\n    maxPayload: 134217728\n", want: []string{"natsmq.server.maxPayload", "134217728"}},
		{name: "data dir", yaml: "milvago:\n  dataDir: \"\"\n", want: []string{"milvago.dataDir", "empty"}},
		{name: "http port", yaml: "proxy:\n  http:\n    port: 8080\n", want: []string{"proxy.http.port", "8080", "19530"}},
		{name: "etcd auth", yaml: "etcd:\n  auth:\n    enabled: true\n", want: []string{"etcd.auth.userName"}},
		{name: "etcd ssl", yaml: "etcd:\n  ssl:\n    enabled: true\n    tlsCert: c.pem\n", want: []string{"etcd.ssl.tlsKey", "c.pem"}},
		{name: "kafka mechanism", yaml: "kafka:\n  saslMechanisms: GSSAPI\n", want: []string{"kafka.saslMechanisms", "GSSAPI"}},
		{name: "standalone kafka", yaml: "mq:\n  type: kafka\nkafka:\n  brokerList: k:9092\n", want: []string{"mq.type", "kafka", "milvago run"}},
		{name: "standalone external nats", yaml: "mq:\n  type: natsmq\nmilvago:\n  natsmq:\n    url: nats://n:4222\n", want: []string{"milvago.natsmq.url", "nats://n:4222"}},
		{name: "cluster embedded", mode: Cluster, yaml: "mq:\n  type: embedded\n", want: []string{"mq.type", "embedded"}},
		{name: "cluster nats without url", mode: Cluster, want: []string{"milvago.natsmq.url", "empty"}},
		{name: "cluster without s3", mode: Cluster, env: []string{"MINIO_ADDRESS=", "MILVAGO_NATSMQ_URL=nats://n:4222"}, want: []string{"minio.address", "empty"}},
		{name: "cluster kafka without brokers", mode: Cluster, yaml: "mq:\n  type: kafka\n", want: []string{"kafka.brokerList", "empty"}},
		{name: "two errors", yaml: "proxy:\n  port: x\nminio:\n  port: y\n", want: []string{"proxy.port", "minio.port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Mode: tc.mode, Env: tc.env}
			if tc.yaml != "" {
				opts.File = writeFile(t, tc.yaml)
			}
			c, _, err := Load(opts)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// A secret's value is never shown, from any source.
	long := strings.Repeat("s3cr3t", 13)
	f, err := parseFlags(t, "--common.security.defaultRootPassword="+long)
	if err != nil {
		t.Fatalf("a secret flag is checked by Load, not by the flag parser: %v", err)
	}
	for _, opts := range []Options{{Flags: f}, {Env: []string{"COMMON_SECURITY_DEFAULT_ROOT_PASSWORD=" + long}}} {
		_, _, err := Load(opts)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "common.security.defaultRootPassword") {
			t.Errorf("secret: %v", err)
		}
	}
	if _, _, err := Load(Options{File: filepath.Join(t.TempDir(), "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// aliasBomb is a file of 10 levels, each merging the level below 10 times:
// 10^10 entries once its aliases are followed.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("l0: &l0\n  port: 1\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "l%d: &l%d\n  <<: [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	b.WriteString("proxy:\n  <<: *l10\n")
	return b.String()
}

// TestFile: YAML forms Milvus operators write.
func TestFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode Mode
		yaml string
		get  func(*Config) any
		want any
	}{
		{"empty file", Standalone, "", func(c *Config) any { return c.Proxy.Port }, 19530},
		{"comments only", Standalone, "# nothing\n", func(c *Config) any { return c.Proxy.Port }, 19530},
		{"endpoints sequence", Cluster, "etcd:\n  endpoints:\n    - e1:2379\n    - e2:2379\nmilvago:\n  natsmq:\n    url: nats://n:4222\n",
			func(c *Config) any { return c.Etcd.Endpoints }, []string{"e1:2379", "e2:2379"}},
		{"endpoint urls", Standalone, "etcd:\n  endpoints: https://e1:2379,http://[::1]:2379,unix:///run/etcd.sock,e4:2379\n",
			func(c *Config) any { return len(c.Etcd.Endpoints) }, 4},
		{"s3 address forms", Standalone, "minio:\n  address: 10.0.0.7\n  port: 9100\n", func(c *Config) any { return c.Minio.Endpoint() }, "10.0.0.7:9100"},
		{"endpoints comma string", Standalone, "etcd:\n  endpoints: e1:2379,e2:2379\n", func(c *Config) any { return c.Etcd.Endpoints }, []string{"e1:2379", "e2:2379"}},
		{"keys are case-insensitive", Standalone, "ETCD:\n  rootpath: other\nCommon:\n  metricsPort: 9100\n",
			func(c *Config) any { return c.Etcd.RootPath + " " + strconv.Itoa(c.Common.MetricsPort) }, "other 9100"},
		{"empty int means default", Standalone, "proxy:\n  port:\n", func(c *Config) any { return c.Proxy.Port }, 19530},
		{"empty string is empty", Standalone, "minio:\n  accessKeyID:\n", func(c *Config) any { return c.Minio.AccessKeyID }, ""},
		{"numeric password stays text", Standalone, "common:\n  security:\n    defaultRootPassword: 12345678901234567890\n",
			func(c *Config) any { return c.Common.Security.DefaultRootPassword }, "12345678901234567890"},
		{"empty section", Standalone, "etcd:\nproxy:\n  port: 1\n", func(c *Config) any { return c.Proxy.Port }, 1},
		{"anchors and merge", Standalone, "base: &b\n  port: 4000\nproxy:\n  <<: *b\n", func(c *Config) any { return c.Proxy.Port }, 4000},
		{"own key beats merged", Standalone, "base: &b\n  port: 4000\n  ip: 10.0.0.1\nproxy:\n  port: 4001\n  <<: *b\n",
			func(c *Config) any { return c.Proxy.Endpoint }, Endpoint{IP: "10.0.0.1", Port: 4001}},
		{"first merged wins", Standalone, "base: &b\n  port: 4000\nother: &o\n  port: 4002\nproxy:\n  <<: [*b, *o]\n",
			func(c *Config) any { return c.Proxy.Port }, 4000},
		{"natsmq without url is embedded in standalone", Standalone, "mq:\n  type: natsmq\n", func(c *Config) any { return c.MQ.Type }, MQEmbedded},
		{"natsmq in cluster", Cluster, "mq:\n  type: natsmq\nmilvago:\n  natsmq:\n    url: nats://a:4222,nats://b:4222\n",
			func(c *Config) any { return c.MQ.Type + " " + c.Milvago.NatsMQ.URL }, "natsmq nats://a:4222,nats://b:4222"},
		{"kafka in cluster", Cluster, "mq:\n  type: Kafka\nkafka:\n  brokerList: k1:9092,k2:9092\n",
			func(c *Config) any { return c.MQ.Type + " " + strings.Join(c.Kafka.BrokerList, "|") }, "kafka k1:9092|k2:9092"},
		{"mixcoord follows rootcoord", Cluster, "rootCoord:\n  ip: 10.0.0.5\n  port: 7000\nmq:\n  type: kafka\nkafka:\n  brokerList: k:1\n",
			func(c *Config) any { return c.MixCoord }, Endpoint{IP: "10.0.0.5", Port: 7000}},
		{"mixcoord own port", Cluster, "mixCoord:\n  port: 7100\nmq:\n  type: kafka\nkafka:\n  brokerList: k:1\n",
			func(c *Config) any { return c.MixCoord.Port }, 7100},
		{"http port equal to proxy port", Standalone, "proxy:\n  port: 1234\n  http:\n    port: 1234\n", func(c *Config) any { return c.Proxy.HTTP.Port }, 1234},
		{"trace level", Standalone, "log:\n  level: trace\n", func(c *Config) any { return c.Log.SlogLevel() }, slog.LevelDebug - 4},
		{"fatal level", Standalone, "log:\n  level: fatal\n", func(c *Config) any { return c.Log.SlogLevel() }, slog.LevelError},
		{"max payload", Standalone, "natsmq:\n  server:\n    maxPayload: 16777216\n", func(c *Config) any { return c.NatsMQ.Server.MaxPayload }, 16 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rep, err := Load(Options{Mode: tc.mode, File: writeFile(t, tc.yaml)})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, ig := range rep.Ignored {
				if ig.Key != "base" && ig.Key != "other" { // the anchors' homes, unknown sections
					t.Errorf("ignored %+v", ig)
				}
			}
		})
	}
}

// TestUnknownKeys: unknown keys are reported and logged by name, Milvus
// keys Milvago does not use quietly; neither fails the load.
func TestUnknownKeys(t *testing.T) {
	yaml := `etcd:
  endpoint: typo:2379
  endpoints: e:2379
proxy:
  maxFieldNum: 64
quotaAndLimits:
  forceDenyAllDDL: false
  dml:
    bogus: 1
foo:
  a: 1
  b: 2
milvago:
  dataDirectory: /x
`
	c, rep, err := Load(Options{File: writeFile(t, yaml), Env: []string{"MILVUS_CONF_ETCD_ENDPOINT=x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Etcd.Endpoints, []string{"e:2379"}) {
		t.Errorf("endpoints %v", c.Etcd.Endpoints)
	}
	got := map[string]bool{}
	for _, ig := range rep.Ignored {
		got[ig.Key] = ig.Milvus
		if ig.Source == "" {
			t.Errorf("%s: no source", ig.Key)
		}
	}
	want := map[string]bool{"etcd.endpoint": false, "quotaAndLimits.dml.bogus": false, "foo": false, "milvago.dataDirectory": false,
		"MILVUS_CONF_ETCD_ENDPOINT": false, "proxy.maxFieldNum": true, "quotaAndLimits.forceDenyAllDDL": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ignored %v\nwant    %v", got, want)
	}
	var buf bytes.Buffer
	rep.Log(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	out := buf.String()
	for k, milvus := range want {
		line := "level=WARN msg=\"unknown config key ignored\" key=" + k
		if strings.Contains(out, line) == milvus {
			t.Errorf("log for %s (milvus %v):\n%s", k, milvus, out)
		}
	}
	if !strings.Contains(out, "milvus config keys not used by milvago ignored\" count=2") {
		t.Errorf("no summary of Milvus keys:\n%s", out)
	}
}

// TestMilvusYAML: Milvus's own milvus.yaml (trimmed: testdata) loads, every
// key in it is either Milvago's or a Milvus key, and Milvago takes the
// values it shares with Milvus.
func TestMilvusYAML(t *testing.T) {
	c, rep, err := Load(Options{File: "testdata/milvus.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ig := range rep.Ignored {
		if !ig.Milvus {
			t.Errorf("unknown key in Milvus's file: %+v", ig)
		}
	}
	if len(rep.Ignored) < 100 {
		t.Errorf("only %d Milvus keys ignored: is the file trimmed too far?", len(rep.Ignored))
	}
	if c.Etcd.RootPath != "by-dev" || c.Minio.RootPath != "files" || c.Minio.BucketName != "a-bucket" ||
		!c.Etcd.Auth.Enabled || c.Etcd.Auth.UserName != "etcdadmin" || c.Proxy.Port != 19530 || c.RootCoord.Port != 22125 ||
		c.StreamingNode.Port != 22222 || c.MQ.Type != MQEmbedded || c.NatsMQ.Server.MaxPayload != 8388608 ||
		c.Common.Security.DefaultRootPassword != "Milvus" || c.LocalStorage.Path != "/var/lib/milvus/data/" {
		t.Errorf("values from Milvus's file: %+v", c)
	}
	// The whole file, when Milvus's source is at hand.
	const full = "/work/milvus-src/configs/milvus.yaml"
	if _, err := os.Stat(full); err != nil {
		t.Logf("skip %s: %v", full, err)
		return
	}
	_, rep, err = Load(Options{File: full})
	if err != nil {
		t.Fatal(err)
	}
	for _, ig := range rep.Ignored {
		if !ig.Milvus {
			t.Errorf("unknown key in Milvus's full file: %+v", ig)
		}
	}
}
