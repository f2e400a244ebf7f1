package config

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Key describes one configuration key: what --help, the docs and Load know
// about it.
type Key struct {
	// Name is the key as milvus.yaml spells it ("minio.accessKeyID"); it is
	// also the flag's name (--minio.accessKeyID).
	Name string
	// Type is "string", "int", "bool", "port" or "list" (comma-separated in
	// the environment and flags; a YAML sequence or a comma-separated
	// string in the file).
	Type string
	// Default is the value when nothing sets the key, as written in a file.
	Default string
	// Help says what the key does, in one or two sentences.
	Help string
	// Env is the key's canonical environment variable (Env).
	Env string
	// Secret keys (passwords, secret keys) never have their value shown in
	// an error.
	Secret bool

	set func(c *Config, raw string) error
}

// Keys returns every key, in the order of the docs.
func Keys() []Key {
	return append([]Key(nil), keys...)
}

// unsetPort marks an optional port left empty (mixCoord.port,
// proxy.http.port) until resolve fills it.
const unsetPort = -1

var keys = []Key{
	// etcd: the meta store.
	listKey("etcd.endpoints", "localhost:2379", "etcd endpoints of the meta store (host:port or URL), comma-separated. Cluster mode only: standalone embeds its own etcd",
		func(c *Config) *[]string { return &c.Etcd.Endpoints }, true, hostPortOrURL),
	strKey("etcd.rootPath", "milvago", "key prefix of everything Milvago keeps in etcd; give each instance sharing an etcd its own (Milvus's default is by-dev: Milvago's differs so the two never share keys)",
		func(c *Config) *string { return &c.Etcd.RootPath }, nonEmpty),
	intKey("etcd.requestTimeout", "10000", 1, math.MaxInt32, "etcd operation timeout in milliseconds",
		func(c *Config) *int { return &c.Etcd.RequestTimeoutMs }),
	intKey("etcd.dialTimeout", "5000", 1, math.MaxInt32, "timeout in milliseconds of the first connection to etcd",
		func(c *Config) *int { return &c.Etcd.DialTimeoutMs }),
	boolKey("etcd.ssl.enabled", "false", "connect to etcd over TLS",
		func(c *Config) *bool { return &c.Etcd.SSL.Enabled }),
	strKey("etcd.ssl.tlsCert", "", "client certificate file (PEM) for etcd",
		func(c *Config) *string { return &c.Etcd.SSL.TLSCert }),
	strKey("etcd.ssl.tlsKey", "", "client key file (PEM) for etcd",
		func(c *Config) *string { return &c.Etcd.SSL.TLSKey }),
	strKey("etcd.ssl.tlsCACert", "", "CA certificate file (PEM) that signed etcd's certificate; empty: the system's roots",
		func(c *Config) *string { return &c.Etcd.SSL.TLSCACert }),
	enumKey("etcd.ssl.tlsMinVersion", "1.3", "lowest TLS version towards etcd: 1.0, 1.1, 1.2 or 1.3",
		func(c *Config) *string { return &c.Etcd.SSL.TLSMinVersion }, "1.0", "1.1", "1.2", "1.3"),
	boolKey("etcd.auth.enabled", "false", "authenticate to etcd with etcd.auth.userName and etcd.auth.password (Milvus 2.6 defaults to true with etcdadmin; Milvago to false, which a stock etcd expects)",
		func(c *Config) *bool { return &c.Etcd.Auth.Enabled }),
	strKey("etcd.auth.userName", "", "etcd user name",
		func(c *Config) *string { return &c.Etcd.Auth.UserName }),
	secret(strKey("etcd.auth.password", "", "etcd password",
		func(c *Config) *string { return &c.Etcd.Auth.Password })),

	// Object storage.
	strKey("localStorage.path", "/var/lib/milvus/data/", "a worker's directory for node-local files in cluster mode; standalone keeps everything under milvago.dataDir",
		func(c *Config) *string { return &c.LocalStorage.Path }),
	strKey("minio.address", "localhost:9000", "S3 server (MinIO, AWS S3, ...) host, or host:port; without a port minio.port is appended. Cluster mode only: standalone keeps objects under milvago.dataDir",
		func(c *Config) *string { return &c.Minio.Address }, s3Address),
	portKey("minio.port", "9000", false, "S3 server port, used when minio.address has none",
		func(c *Config) *int { return &c.Minio.Port }),
	strKey("minio.accessKeyID", "minioadmin", "S3 access key ID",
		func(c *Config) *string { return &c.Minio.AccessKeyID }),
	secret(strKey("minio.secretAccessKey", "minioadmin", "S3 secret access key",
		func(c *Config) *string { return &c.Minio.SecretAccessKey })),
	boolKey("minio.useSSL", "false", "talk to the S3 server over HTTPS",
		func(c *Config) *bool { return &c.Minio.UseSSL }),
	strKey("minio.ssl.tlsCACert", "", "CA certificate file (PEM) of the S3 server; empty: the system's roots",
		func(c *Config) *string { return &c.Minio.SSLCACert }),
	strKey("minio.bucketName", "a-bucket", "bucket holding the objects; created when missing",
		func(c *Config) *string { return &c.Minio.BucketName }, nonEmpty),
	strKey("minio.rootPath", "milvago", "key prefix of every object inside the bucket (Milvus's default is files: Milvago's differs so the two never share files)",
		func(c *Config) *string { return &c.Minio.RootPath }),
	boolKey("minio.useIAM", "false", "take S3 credentials from the environment and IAM (AWS_* variables, instance role) instead of minio.accessKeyID and minio.secretAccessKey",
		func(c *Config) *bool { return &c.Minio.UseIAM }),
	strKey("minio.region", "", "S3 region, when the server needs one (us-east-1)",
		func(c *Config) *string { return &c.Minio.Region }),

	// The log.
	enumKey("mq.type", "default", "log broker of the DML channels: default (embedded in standalone, natsmq in cluster mode), embedded (NATS JetStream inside the standalone process, under milvago.dataDir), natsmq (external NATS JetStream at milvago.natsmq.url; in standalone without a URL: embedded) or kafka (kafka.brokerList)",
		func(c *Config) *string { return &c.MQ.Type }, MQDefault, MQEmbedded, MQNats, MQKafka),
	portKey("natsmq.server.port", "4222", true, "Milvus's embedded NATS listening port; not used: Milvago's embedded log listens on no port",
		func(c *Config) *int { return &c.NatsMQ.Server.Port }),
	strKey("natsmq.server.storeDir", "/var/lib/milvus/nats", "Milvus's embedded NATS store directory; not used: Milvago keeps its embedded log under milvago.dataDir/log",
		func(c *Config) *string { return &c.NatsMQ.Server.StoreDir }),
	int64Key("natsmq.server.maxFileStore", "17179869184", 0, math.MaxInt64, "Milvus's embedded NATS store size limit in bytes; not used: Milvago truncates its log behind the flushed checkpoints",
		func(c *Config) *int64 { return &c.NatsMQ.Server.MaxFileStore }),
	intKey("natsmq.server.maxPayload", "8388608", 4<<10+1, 64<<20, "largest log message in bytes of the embedded log (at most 64 MiB); larger inserts are split",
		func(c *Config) *int { return &c.NatsMQ.Server.MaxPayload }),
	int64Key("natsmq.server.maxPending", "67108864", 0, math.MaxInt64, "Milvus's embedded NATS per-connection buffer in bytes; not used",
		func(c *Config) *int64 { return &c.NatsMQ.Server.MaxPending }),
	intKey("natsmq.server.initializeTimeout", "4000", 0, math.MaxInt32, "Milvus's embedded NATS start-up timeout in milliseconds; not used: Milvago's embedded log allows 30 s, since replaying a large store can take longer than 4 s",
		func(c *Config) *int { return &c.NatsMQ.Server.InitializeTimeout }),
	boolKey("natsmq.server.monitor.trace", "false", "Milvus's NATS protocol trace; not used",
		func(c *Config) *bool { return &c.NatsMQ.Server.Monitor.Trace }),
	boolKey("natsmq.server.monitor.debug", "false", "Milvus's NATS debug log; not used: the embedded server logs at log.level debug",
		func(c *Config) *bool { return &c.NatsMQ.Server.Monitor.Debug }),
	boolKey("natsmq.server.monitor.logTime", "true", "Milvus's NATS log timestamps; not used",
		func(c *Config) *bool { return &c.NatsMQ.Server.Monitor.LogTime }),
	strKey("natsmq.server.monitor.logFile", "/tmp/milvus/logs/nats.log", "Milvus's NATS log file; not used: the embedded server logs through Milvago's log",
		func(c *Config) *string { return &c.NatsMQ.Server.Monitor.LogFile }),
	int64Key("natsmq.server.monitor.logSizeLimit", "536870912", 0, math.MaxInt64, "Milvus's NATS log file size limit; not used",
		func(c *Config) *int64 { return &c.NatsMQ.Server.Monitor.LogSizeLimit }),
	intKey("natsmq.server.retention.maxAge", "4320", 0, math.MaxInt32, "Milvus's NATS retention in minutes; not used: Milvago truncates its log behind the flushed checkpoints",
		func(c *Config) *int { return &c.NatsMQ.Server.Retention.MaxAge }),
	int64Key("natsmq.server.retention.maxBytes", "", 0, math.MaxInt64, "Milvus's NATS per-channel size limit; not used",
		func(c *Config) *int64 { return &c.NatsMQ.Server.Retention.MaxBytes }),
	int64Key("natsmq.server.retention.maxMsgs", "", 0, math.MaxInt64, "Milvus's NATS per-channel message limit; not used",
		func(c *Config) *int64 { return &c.NatsMQ.Server.Retention.MaxMsgs }),
	listKey("kafka.brokerList", "", "Kafka bootstrap brokers (host:port), comma-separated; used when mq.type is kafka",
		func(c *Config) *[]string { return &c.Kafka.BrokerList }, false, hostPort),
	strKey("kafka.saslUsername", "", "Kafka SASL user name",
		func(c *Config) *string { return &c.Kafka.SaslUsername }),
	secret(strKey("kafka.saslPassword", "", "Kafka SASL password",
		func(c *Config) *string { return &c.Kafka.SaslPassword })),
	enumKey("kafka.saslMechanisms", "", "Kafka SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)",
		func(c *Config) *string { return &c.Kafka.SaslMechanisms }, "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
	enumKey("kafka.securityProtocol", "", "Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (empty: PLAINTEXT)",
		func(c *Config) *string { return &c.Kafka.SecurityProtocol }, "", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
	boolKey("kafka.ssl.enabled", "false", "connect to Kafka over TLS",
		func(c *Config) *bool { return &c.Kafka.SSL.Enabled }),
	strKey("kafka.ssl.tlsCert", "", "client certificate file (PEM) for Kafka",
		func(c *Config) *string { return &c.Kafka.SSL.TLSCert }),
	strKey("kafka.ssl.tlsKey", "", "client key file (PEM) for Kafka",
		func(c *Config) *string { return &c.Kafka.SSL.TLSKey }),
	strKey("kafka.ssl.tlsCaCert", "", "CA certificate file (PEM) of the Kafka brokers",
		func(c *Config) *string { return &c.Kafka.SSL.TLSCaCert }),
	secret(strKey("kafka.ssl.tlsKeyPassword", "", "passphrase of kafka.ssl.tlsKey",
		func(c *Config) *string { return &c.Kafka.SSL.TLSKeyPassword })),

	// Roles.
	strKey("proxy.ip", "", "address the proxy advertises to the other roles; empty: the host's first unicast address",
		func(c *Config) *string { return &c.Proxy.IP }),
	portKey("proxy.port", "19530", true, "port of the Milvus API: gRPC and the RESTful API v2 (0: any free port)",
		func(c *Config) *int { return &c.Proxy.Port }),
	portKey("proxy.internalPort", "19529", true, "port of the proxy's internal gRPC service for the other roles",
		func(c *Config) *int { return &c.Proxy.InternalPort }),
	optionalPortKey("proxy.http.port", "port of the RESTful API; Milvago serves it on proxy.port, so leave it empty or equal to proxy.port",
		func(c *Config) *int { return &c.Proxy.HTTP.Port }),
	strKey("rootCoord.ip", "", roleIPHelp("rootcoord"), func(c *Config) *string { return &c.RootCoord.IP }),
	portKey("rootCoord.port", "22125", true, rolePortHelp("rootcoord", ""), func(c *Config) *int { return &c.RootCoord.Port }),
	strKey("dataCoord.ip", "", roleIPHelp("datacoord"), func(c *Config) *string { return &c.DataCoord.IP }),
	portKey("dataCoord.port", "13333", true, rolePortHelp("datacoord", ""), func(c *Config) *int { return &c.DataCoord.Port }),
	strKey("queryCoord.ip", "", roleIPHelp("querycoord"), func(c *Config) *string { return &c.QueryCoord.IP }),
	portKey("queryCoord.port", "19531", true, rolePortHelp("querycoord", ""), func(c *Config) *int { return &c.QueryCoord.Port }),
	strKey("indexCoord.ip", "", roleIPHelp("indexcoord"), func(c *Config) *string { return &c.IndexCoord.IP }),
	portKey("indexCoord.port", "31000", true, rolePortHelp("indexcoord", " (Milvus 2.2's; later Milvus merged indexcoord into datacoord)"), func(c *Config) *int { return &c.IndexCoord.Port }),
	strKey("mixCoord.ip", "", "address mixcoord advertises; empty: rootCoord.ip", func(c *Config) *string { return &c.MixCoord.IP }),
	optionalPortKey("mixCoord.port", "gRPC port of mixcoord (the four coordinators in one process); empty: rootCoord.port, where Milvus 2.6 serves its mixcoord",
		func(c *Config) *int { return &c.MixCoord.Port }),
	strKey("queryNode.ip", "", roleIPHelp("querynode"), func(c *Config) *string { return &c.QueryNode.IP }),
	portKey("queryNode.port", "21123", true, rolePortHelp("querynode", ""), func(c *Config) *int { return &c.QueryNode.Port }),
	strKey("dataNode.ip", "", roleIPHelp("datanode"), func(c *Config) *string { return &c.DataNode.IP }),
	portKey("dataNode.port", "21124", true, rolePortHelp("datanode", ""), func(c *Config) *int { return &c.DataNode.Port }),
	strKey("indexNode.ip", "", roleIPHelp("indexnode"), func(c *Config) *string { return &c.IndexNode.IP }),
	portKey("indexNode.port", "21121", true, rolePortHelp("indexnode", " (Milvus 2.5's; 2.6 merged indexnode into datanode)"), func(c *Config) *int { return &c.IndexNode.Port }),
	strKey("streamingNode.ip", "", roleIPHelp("streamingnode"), func(c *Config) *string { return &c.StreamingNode.IP }),
	portKey("streamingNode.port", "22222", true, rolePortHelp("streamingnode", ""), func(c *Config) *int { return &c.StreamingNode.Port }),

	// Common.
	portKey("common.MetricsPort", "9091", true, "HTTP port of /healthz, /metrics and, with milvago.pprof.enabled, /debug/pprof",
		func(c *Config) *int { return &c.Common.MetricsPort }),
	intKey("common.clusterID", "0", 0, 7, "the cluster's ID that FlushAll answers in its cluster_info (Milvus 2.6's range, 0 to 7); Milvago's own cluster identity (docs/recovery.md) is apart",
		func(c *Config) *int { return &c.Common.ClusterID }),
	intKey("common.session.ttl", "15", 1, math.MaxInt32, "cluster mode: TTL in seconds of a process's etcd session lease; a process killed without a goodbye stays listed, and an active coordinator that died keeps its standby waiting, this long",
		func(c *Config) *int { return &c.Common.Session.TTL }),
	boolKey("common.security.authorizationEnabled", "false", "require user authentication on the Milvus API",
		func(c *Config) *bool { return &c.Common.Security.AuthorizationEnabled }),
	secret(strKey("common.security.defaultRootPassword", "Milvus", "password of the root user when it is first created (at most 72 characters)",
		func(c *Config) *string { return &c.Common.Security.DefaultRootPassword }, maxLen(72))),
	listKey("common.security.superUsers", "", "users who may change any user's password without the old one (UpdateCredential), comma-separated; they are not exempt from privilege checks",
		func(c *Config) *[]string { return &c.Common.Security.SuperUsers }, false, nonEmpty),
	boolKey("common.security.rootShouldBindRole", "false", "check root's privileges against its roles like any user's instead of allowing root everything",
		func(c *Config) *bool { return &c.Common.Security.RootShouldBindRole }),
	boolKey("common.security.enablePublicPrivilege", "true", "grant the public role (every user) DescribeCollection, ListAliases and IndexDetail at start",
		func(c *Config) *bool { return &c.Common.Security.EnablePublicPrivilege }),
	intKey("common.security.tlsMode", "0", 0, 2, "TLS on the Milvus API: 0 none, 1 server TLS (tls.serverPemPath, tls.serverKeyPath), 2 mutual TLS (and tls.caPemPath)",
		func(c *Config) *int { return &c.Common.Security.TLSMode }),
	strKey("tls.serverPemPath", "configs/cert/server.pem", "server certificate file (PEM) of the Milvus API when common.security.tlsMode is 1 or 2",
		func(c *Config) *string { return &c.TLS.ServerPemPath }),
	strKey("tls.serverKeyPath", "configs/cert/server.key", "server key file (PEM) of the Milvus API",
		func(c *Config) *string { return &c.TLS.ServerKeyPath }),
	strKey("tls.caPemPath", "configs/cert/ca.pem", "CA certificate file (PEM) that signs client certificates when common.security.tlsMode is 2",
		func(c *Config) *string { return &c.TLS.CAPemPath }),
	{Name: "log.level", Type: "string", Default: "info", Help: "log level: debug, info, warn or error (Milvus's trace is debug-4; panic and fatal are error)",
		set: func(c *Config, raw string) error {
			if _, err := parseLevel(raw); err != nil {
				return err
			}
			c.Log.Level = raw
			return nil
		}},
	enumKey("log.format", "text", "log format: text or json", func(c *Config) *string { return &c.Log.Format }, "text", "json"),

	// Milvago's own keys.
	strKey("milvago.dataDir", "milvago-data", "standalone's directory holding all data: the embedded etcd, the embedded log and the objects",
		func(c *Config) *string { return &c.Milvago.DataDir }, nonEmpty),
	boolKey("milvago.syncAlways", "false", "the embedded log fsyncs every append before acknowledging it (survives power loss; slower)",
		func(c *Config) *bool { return &c.Milvago.SyncAlways }),
	intKey("milvago.etcd.snapshotCount", "10000", 100, math.MaxInt32, "standalone's embedded etcd writes a disk snapshot (and releases its WAL before it) every this many applied entries, etcd's snapshot-count. On a full disk none is written: the writes that pass the disk guard stop short of the next one",
		func(c *Config) *int { return &c.Milvago.EtcdSnapshotCount }),
	strKey("milvago.natsmq.url", "", "external NATS JetStream server(s) of mq.type natsmq: nats://host:4222, comma-separated for a cluster. A Milvago key because Milvus's natsmq was only ever a server inside Milvus",
		func(c *Config) *string { return &c.Milvago.NatsMQ.URL }, natsURLs),
	strKey("milvago.natsmq.streamPrefix", "MILVAGO", "prefix of the JetStream stream and subjects, so Milvago instances can share a NATS account (letters, digits, '-', '_')",
		func(c *Config) *string { return &c.Milvago.NatsMQ.StreamPrefix }, streamPrefix),
	boolKey("milvago.rpc.framedSearch", "true", "the proxy sends its shard searches to the query nodes as length-prefixed frames over plain TCP on the query node's port (faster than gRPC; falls back to gRPC when a node does not answer frames); false: every search over gRPC. Query nodes serve both either way",
		func(c *Config) *bool { return &c.Milvago.RPC.FramedSearch }),
	{Name: "milvago.natsmq.replicas", Type: "int", Default: "1", Help: "replicas of the JetStream stream on an external NATS cluster: 1, 3 or 5",
		set: func(c *Config, raw string) error {
			n, err := strconv.Atoi(strings.TrimSpace(raw))
			if err != nil || (n != 1 && n != 3 && n != 5) {
				return fmt.Errorf("want 1, 3 or 5")
			}
			c.Milvago.NatsMQ.Replicas = n
			return nil
		}},
}

func roleIPHelp(role string) string {
	return "address " + role + " advertises to the other roles; empty: the host's first unicast address"
}

func rolePortHelp(role, note string) string {
	return "gRPC port of " + role + note + " (0: any free port)"
}

func init() {
	for i := range keys {
		keys[i].Env = EnvName(keys[i].Name)
	}
}

// secret marks k as a secret.
func secret(k Key) Key {
	k.Secret = true
	return k
}

func strKey(name, def, help string, field func(*Config) *string, checks ...func(string) error) Key {
	return Key{Name: name, Type: "string", Default: def, Help: help, set: func(c *Config, raw string) error {
		for _, check := range checks {
			if err := check(raw); err != nil {
				return err
			}
		}
		*field(c) = raw
		return nil
	}}
}

func enumKey(name, def, help string, field func(*Config) *string, values ...string) Key {
	return Key{Name: name, Type: "string", Default: def, Help: help, set: func(c *Config, raw string) error {
		for _, v := range values {
			if strings.EqualFold(raw, v) {
				*field(c) = v
				return nil
			}
		}
		var want []string
		for _, v := range values {
			if v != "" {
				want = append(want, v)
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(want, ", "))
	}}
}

func nonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func maxLen(n int) func(string) error {
	return func(s string) error {
		if len(s) > n {
			return fmt.Errorf("longer than %d characters", n)
		}
		return nil
	}
}

// hostPort checks host:port.
func hostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q: want host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a port number", s, port)
	}
	return nil
}

// hostPortOrURL checks an etcd endpoint: host:port, or a URL with a host
// (http://, https://) or a unix socket path.
func hostPortOrURL(s string) error {
	if !strings.Contains(s, "://") {
		return hostPort(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("%q: no host", s)
		}
	case "unix", "unixs":
	default:
		return fmt.Errorf("%q: want host:port or an http, https or unix URL", s)
	}
	return nil
}

// s3Address checks minio.address: a host or host:port, no scheme or path
// (minio.useSSL chooses https), which minio-go would refuse later with
// "Endpoint url cannot have fully qualified paths".
func s3Address(s string) error {
	if strings.Contains(s, "://") || strings.Contains(s, "/") {
		return fmt.Errorf("want a host or host:port without scheme or path (minio.useSSL selects https)")
	}
	if strings.Contains(s, ":") && strings.Count(s, ":") == 1 {
		return hostPort(s)
	}
	return nil
}

func natsURLs(s string) error {
	for _, u := range strings.Split(s, ",") {
		u = strings.TrimSpace(u)
		if s != "" && u == "" {
			return fmt.Errorf("empty URL in the list")
		}
		if strings.ContainsAny(u, " \t") {
			return fmt.Errorf("URL %q contains blanks", u)
		}
	}
	return nil
}

func streamPrefix(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("only letters, digits, '-' and '_' allowed")
		}
	}
	return nil
}

// scalar resolves an empty value of a non-string key to the key's default:
// milvus.yaml leaves such keys empty to mean "the default".
func scalar(raw, def string) string {
	if s := strings.TrimSpace(raw); s != "" {
		return s
	}
	return def
}

func intKey(name, def string, minV, maxV int, help string, field func(*Config) *int) Key {
	return Key{Name: name, Type: "int", Default: def, Help: help, set: func(c *Config, raw string) error {
		s := scalar(raw, def)
		if s == "" {
			*field(c) = 0
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		if n < minV || n > maxV {
			return fmt.Errorf("out of range [%d, %d]", minV, maxV)
		}
		*field(c) = n
		return nil
	}}
}

func int64Key(name, def string, minV, maxV int64, help string, field func(*Config) *int64) Key {
	return Key{Name: name, Type: "int", Default: def, Help: help, set: func(c *Config, raw string) error {
		s := scalar(raw, def)
		if s == "" {
			*field(c) = 0
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		if n < minV || n > maxV {
			return fmt.Errorf("out of range [%d, %d]", minV, maxV)
		}
		*field(c) = n
		return nil
	}}
}

func boolKey(name, def, help string, field func(*Config) *bool) Key {
	return Key{Name: name, Type: "bool", Default: def, Help: help, set: func(c *Config, raw string) error {
		b, err := strconv.ParseBool(scalar(raw, def))
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*field(c) = b
		return nil
	}}
}

// portKey is a port; listen ports may be 0 (the OS picks a free one).
func portKey(name, def string, listen bool, help string, field func(*Config) *int) Key {
	lo := 1
	if listen {
		lo = 0
	}
	return Key{Name: name, Type: "port", Default: def, Help: help, set: func(c *Config, raw string) error {
		n, err := strconv.Atoi(scalar(raw, def))
		if err != nil || n < lo || n > 65535 {
			return fmt.Errorf("want a port number in [%d, 65535]", lo)
		}
		*field(c) = n
		return nil
	}}
}

// optionalPortKey is a port that defaults to another key's (resolve).
func optionalPortKey(name, help string, field func(*Config) *int) Key {
	return Key{Name: name, Type: "port", Default: "", Help: help, set: func(c *Config, raw string) error {
		s := strings.TrimSpace(raw)
		if s == "" {
			*field(c) = unsetPort
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("want a port number in [0, 65535] or empty")
		}
		*field(c) = n
		return nil
	}}
}

// listKey is a comma-separated list; entries are trimmed and must not be
// empty ("a,,b" is refused), nor the whole list when required.
func listKey(name, def, help string, field func(*Config) *[]string, required bool, entry func(string) error) Key {
	return Key{Name: name, Type: "list", Default: def, Help: help, set: func(c *Config, raw string) error {
		if required && strings.TrimSpace(raw) == "" {
			return fmt.Errorf("must not be empty")
		}
		var out []string
		if strings.TrimSpace(raw) != "" {
			for _, e := range strings.Split(raw, ",") {
				e = strings.TrimSpace(e)
				if e == "" {
					return fmt.Errorf("empty entry in the list")
				}
				if err := entry(e); err != nil {
					return err
				}
				out = append(out, e)
			}
		}
		*field(c) = out
		return nil
	}}
}

// parseLevel reads log.level: slog's names (and offsets such as info+2),
// plus Milvus's trace, panic and fatal.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return slog.LevelDebug - 4, nil
	case "panic", "fatal", "dpanic":
		return slog.LevelError, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("want debug, info, warn or error")
	}
	return l, nil
}

// normalize is Milvus's key formatter for environment variables: lower
// case without '_', '.' and '/'.
func normalize(s string) string {
	return strings.NewReplacer("_", "", ".", "", "/", "").Replace(strings.ToLower(s))
}

// EnvName is a key's canonical environment variable: its words in upper
// case joined by '_' (minio.accessKeyID: MINIO_ACCESS_KEY_ID). Any spelling
// that normalizes to the same letters works too, as in Milvus.
func EnvName(key string) string {
	var b strings.Builder
	rs := []rune(key)
	for i, r := range rs {
		if r == '.' {
			b.WriteByte('_')
			continue
		}
		if i > 0 && isUpper(r) && rs[i-1] != '.' {
			prevLower := isLower(rs[i-1]) || isDigit(rs[i-1])
			nextLower := i+1 < len(rs) && isLower(rs[i+1])
			if prevLower || (isUpper(rs[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteString(strings.ToUpper(string(r)))
	}
	return b.String()
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }
