package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// Config is every setting of Milvago, in milvus.yaml's layout. Load fills
// it; Default returns the defaults of keys.go. After Load, derived values
// are resolved: MQ.Type is never "default", MixCoord and Proxy.HTTP.Port
// are never unset.
type Config struct {
	Etcd          Etcd
	LocalStorage  LocalStorage
	Minio         Minio
	MQ            MQ
	NatsMQ        NatsMQ
	Kafka         Kafka
	Proxy         Proxy
	RootCoord     Endpoint
	DataCoord     Endpoint
	QueryCoord    Endpoint
	IndexCoord    Endpoint
	MixCoord      Endpoint
	QueryNode     Endpoint
	DataNode      Endpoint
	IndexNode     Endpoint
	StreamingNode Endpoint
	Common        Common
	TLS           TLS
	Log           Log
	Milvago       Milvago
	// Limits bound requests and resources (keys_limits.go).
	Limits Limits
	// Lifecycle tunes compaction and garbage collection (keys_compaction.go).
	Lifecycle
	// InterimIndex is the growing segments' interim index (keys_interim.go).
	InterimIndex
	// VectorClustering is clustering by a vector key and search-time
	// segment pruning (keys_vecclust.go).
	VectorClustering
	// DataNodeSync is when growing segments' buffers are synced (keys_datanode.go).
	DataNodeSync
	// ShardBalance is the query coordinator's balance checker
	// (keys_querycoord.go).
	ShardBalance
	// Tuning is the segment size bounds, model service timing and log
	// retention (keys_tuning.go).
	Tuning
	// Function is the model services of functions (keys_functions.go).
	Function Function
	// MsgChannel is msgChannel.*: only the cluster prefix
	// (keys_functions.go), the zilliz model service's instance-id.
	MsgChannel struct {
		ChanNamePrefix struct {
			Cluster string
		}
	}
	// Credentials are the file's credential.<name>.apikey values, by name
	// (keys_functions.go).
	Credentials map[string]string
	// CredentialValues are the file's credential.<name>.access_key_id and
	// credential.<name>.secret_access_key values (AWS credentials, for
	// bedrock) and credential.<name>.credential_json (a GCP service
	// account key in base64, for vertexai), by their key without the
	// credential. prefix.
	CredentialValues map[string]string
	// ModelEnv are the environment variables Milvus reads model service
	// API keys from (MILVUS_OPENAI_API_KEY, ...; keys_functions.go).
	ModelEnv map[string]string
}

// Etcd is the meta store (etcd.*).
type Etcd struct {
	Endpoints        []string
	RootPath         string
	RequestTimeoutMs int
	DialTimeoutMs    int
	SSL              EtcdSSL
	Auth             EtcdAuth
}

// EtcdSSL is etcd.ssl.*: TLS towards etcd.
type EtcdSSL struct {
	Enabled       bool
	TLSCert       string
	TLSKey        string
	TLSCACert     string
	TLSMinVersion string
}

// EtcdAuth is etcd.auth.*: etcd's user/password authentication.
type EtcdAuth struct {
	Enabled  bool
	UserName string
	Password string
}

// LocalStorage is localStorage.*.
type LocalStorage struct {
	// Path is a worker's directory for node-local files in cluster mode.
	Path string
}

// Minio is the S3-compatible object store (minio.*).
type Minio struct {
	Address         string
	Port            int
	AccessKeyID     string
	SecretAccessKey string
	UseSSL          bool
	SSLCACert       string
	BucketName      string
	RootPath        string
	UseIAM          bool
	Region          string
}

// Endpoint returns host:port of the S3 server: minio.address as is when it
// carries a port, else minio.address:minio.port, as Milvus composes them.
func (m Minio) Endpoint() string {
	if m.Address == "" || strings.Contains(m.Address, ":") {
		return m.Address
	}
	return net.JoinHostPort(m.Address, strconv.Itoa(m.Port))
}

// The values of mq.type. MQDefault is resolved by Load: the embedded log in
// standalone, natsmq in cluster mode.
const (
	MQDefault  = "default"
	MQEmbedded = "embedded"
	MQNats     = "natsmq"
	MQKafka    = "kafka"
)

// MQ is mq.*: which log broker carries the DML channels.
type MQ struct {
	Type string
}

// NatsMQ is natsmq.server.*, Milvus's keys for the NATS server it embedded
// (Milvus 2.3 to 2.5). Milvago's embedded log honours MaxPayload; the others
// are accepted so that such a file loads, and documented as unused.
type NatsMQ struct {
	Server NatsServer
}

// NatsServer is natsmq.server.*.
type NatsServer struct {
	Port              int
	StoreDir          string
	MaxFileStore      int64
	MaxPayload        int
	MaxPending        int64
	InitializeTimeout int
	Monitor           NatsMonitor
	Retention         NatsRetention
}

// NatsMonitor is natsmq.server.monitor.*.
type NatsMonitor struct {
	Trace        bool
	Debug        bool
	LogTime      bool
	LogFile      string
	LogSizeLimit int64
}

// NatsRetention is natsmq.server.retention.*.
type NatsRetention struct {
	MaxAge   int
	MaxBytes int64
	MaxMsgs  int64
}

// Kafka is kafka.*.
type Kafka struct {
	BrokerList       []string
	SaslUsername     string
	SaslPassword     string
	SaslMechanisms   string
	SecurityProtocol string
	SSL              KafkaSSL
}

// KafkaSSL is kafka.ssl.*.
type KafkaSSL struct {
	Enabled        bool
	TLSCert        string
	TLSKey         string
	TLSCaCert      string
	TLSKeyPassword string
}

// Endpoint is a role's ROLE.ip and ROLE.port. An empty IP means the first
// unicast address of the host (as Milvus); port 0 lets the OS choose.
type Endpoint struct {
	IP   string
	Port int
}

// Proxy is proxy.*.
type Proxy struct {
	Endpoint
	InternalPort int
	HTTP         ProxyHTTP
}

// ProxyHTTP is proxy.http.*. Milvago serves the RESTful API on the gRPC
// port, so Port is always proxy.port after Load.
type ProxyHTTP struct {
	Port int
}

// Common is common.*.
type Common struct {
	MetricsPort int
	Security    Security
	Session     Session
	// ClusterID is common.clusterID, the cluster's number (0-7) FlushAll
	// answers in its cluster_info, as Milvus 2.6.
	ClusterID int
}

// Session is common.session.*: the etcd sessions of cluster mode.
type Session struct {
	// TTL is the session lease's time to live in seconds: how long a
	// killed process stays listed, and a dead active coordinator blocks
	// its standby.
	TTL int
}

// Security is common.security.*.
type Security struct {
	AuthorizationEnabled bool
	DefaultRootPassword  string
	// SuperUsers, RootShouldBindRole, EnablePublicPrivilege are
	// common.security.superUsers, .rootShouldBindRole and
	// .enablePublicPrivilege.
	SuperUsers            []string
	RootShouldBindRole    bool
	EnablePublicPrivilege bool
	// TLSMode: 0 no TLS, 1 server TLS, 2 mutual TLS (tls.* paths).
	TLSMode int
}

// TLS is tls.*: the certificate files of the public API when
// common.security.tlsMode is 1 or 2.
type TLS struct {
	ServerPemPath string
	ServerKeyPath string
	CAPemPath     string
}

// Log is log.*.
type Log struct {
	Level  string
	Format string
}

// SlogLevel returns log.level as a slog level. Milvus's trace maps to
// debug-4, panic and fatal to error.
func (l Log) SlogLevel() slog.Level {
	lvl, _ := parseLevel(l.Level)
	return lvl
}

// Milvago is the milvago: section: keys Milvus does not have.
type Milvago struct {
	DataDir    string
	SyncAlways bool
	// EtcdSnapshotCount is the embedded etcd's snapshot-count (standalone).
	EtcdSnapshotCount int
	NatsMQ            MilvagoNats
	// Listen is the host the public ports bind to (empty: all).
	Listen string
	// Pprof serves /debug/pprof on the metrics port.
	Pprof bool
	// RPC is milvago.rpc.*: Milvago's internal transports.
	RPC MilvagoRPC
}

// MilvagoRPC is milvago.rpc.*.
type MilvagoRPC struct {
	// FramedSearch sends the proxy's shard searches to the query nodes as
	// frames over plain TCP (internal/rpc/framed); false: over gRPC.
	FramedSearch bool
}

// MilvagoNats is milvago.natsmq.*: the client side of an external NATS
// JetStream log. Milvus never had an external NATS (its natsmq.server.*
// configure the server it embedded), so these keys are Milvago's.
type MilvagoNats struct {
	URL          string
	StreamPrefix string
	Replicas     int
}

// Mode says which command reads the configuration; a few values mean
// something different in each (mq.type default) or are refused in one.
type Mode int

// The modes.
const (
	Standalone Mode = iota
	Cluster
)

func (m Mode) String() string {
	if m == Cluster {
		return "cluster"
	}
	return "standalone"
}

// Roles returns the roles `milvago run` starts, in the order of the docs.
func Roles() []string {
	return []string{"proxy", "rootcoord", "datacoord", "querycoord", "indexcoord", "mixcoord",
		"querynode", "datanode", "indexnode", "streamingnode"}
}

// RoleEndpoint returns the ROLE.ip and ROLE.port of a role of Roles.
func (c *Config) RoleEndpoint(role string) (Endpoint, error) {
	switch role {
	case "proxy":
		return c.Proxy.Endpoint, nil
	case "rootcoord":
		return c.RootCoord, nil
	case "datacoord":
		return c.DataCoord, nil
	case "querycoord":
		return c.QueryCoord, nil
	case "indexcoord":
		return c.IndexCoord, nil
	case "mixcoord":
		return c.MixCoord, nil
	case "querynode":
		return c.QueryNode, nil
	case "datanode":
		return c.DataNode, nil
	case "indexnode":
		return c.IndexNode, nil
	case "streamingnode":
		return c.StreamingNode, nil
	}
	return Endpoint{}, fmt.Errorf("unknown role %q: want one of %s", role, strings.Join(Roles(), ", "))
}

// Default returns the defaults of every key (keys.go), resolved for mode.
func Default(mode Mode) *Config {
	c := &Config{}
	for _, k := range keys {
		if err := k.set(c, k.Default); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", k.Name, err))
		}
	}
	c.resolve(mode)
	return c
}

// resolve fills the values that default to others and turns mq.type
// default into the broker of the mode.
func (c *Config) resolve(mode Mode) {
	if c.MixCoord.Port == unsetPort {
		c.MixCoord.Port = c.RootCoord.Port
	}
	if c.MixCoord.IP == "" {
		c.MixCoord.IP = c.RootCoord.IP
	}
	if c.Proxy.HTTP.Port == unsetPort {
		c.Proxy.HTTP.Port = c.Proxy.Port
	}
	if c.MQ.Type == MQDefault {
		if mode == Cluster {
			c.MQ.Type = MQNats
		} else {
			c.MQ.Type = MQEmbedded
		}
	}
	// Milvus's natsmq was a NATS server inside the process: without an
	// external URL, standalone keeps that meaning.
	if mode == Standalone && c.MQ.Type == MQNats && c.Milvago.NatsMQ.URL == "" {
		c.MQ.Type = MQEmbedded
	}
}

// validate checks what involves more than one key, or the mode. The caller
// resolved c first.
func (c *Config) validate(mode Mode) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Proxy.HTTP.Port != c.Proxy.Port {
		bad("proxy.http.port", "%d differs from proxy.port %d: Milvago serves the RESTful API on the gRPC port (leave proxy.http.port empty)", c.Proxy.HTTP.Port, c.Proxy.Port)
	}
	if c.Etcd.Auth.Enabled && c.Etcd.Auth.UserName == "" {
		bad("etcd.auth.userName", "empty while etcd.auth.enabled is true")
	}
	if c.Etcd.SSL.Enabled && (c.Etcd.SSL.TLSCert == "") != (c.Etcd.SSL.TLSKey == "") {
		bad("etcd.ssl.tlsKey", "etcd.ssl.tlsCert and etcd.ssl.tlsKey must be set together (tlsCert %q, tlsKey %q)", c.Etcd.SSL.TLSCert, c.Etcd.SSL.TLSKey)
	}
	if c.Kafka.SSL.Enabled && (c.Kafka.SSL.TLSCert == "") != (c.Kafka.SSL.TLSKey == "") {
		bad("kafka.ssl.tlsKey", "kafka.ssl.tlsCert and kafka.ssl.tlsKey must be set together (tlsCert %q, tlsKey %q)", c.Kafka.SSL.TLSCert, c.Kafka.SSL.TLSKey)
	}
	if c.Common.Security.TLSMode >= 1 {
		if c.TLS.ServerPemPath == "" {
			bad("tls.serverPemPath", "empty while common.security.tlsMode is %d", c.Common.Security.TLSMode)
		}
		if c.TLS.ServerKeyPath == "" {
			bad("tls.serverKeyPath", "empty while common.security.tlsMode is %d", c.Common.Security.TLSMode)
		}
	}
	if c.Common.Security.TLSMode == 2 && c.TLS.CAPemPath == "" {
		bad("tls.caPemPath", "empty while common.security.tlsMode is 2 (mutual TLS)")
	}
	if c.Common.Security.AuthorizationEnabled && c.Common.Security.DefaultRootPassword == "" {
		bad("common.security.defaultRootPassword", "empty while common.security.authorizationEnabled is true")
	}
	switch mode {
	case Standalone:
		switch {
		case c.MQ.Type == MQKafka:
			bad("mq.type", "%q: standalone runs its embedded log; start the roles with `milvago run` to use Kafka", c.MQ.Type)
		case c.MQ.Type == MQNats && c.Milvago.NatsMQ.URL != "":
			bad("milvago.natsmq.url", "%q: standalone runs its embedded log; start the roles with `milvago run` to use an external NATS", c.Milvago.NatsMQ.URL)
		}
	case Cluster:
		if c.Minio.Address == "" {
			bad("minio.address", "empty: cluster roles keep their files in an S3 server")
		}
		switch c.MQ.Type {
		case MQEmbedded:
			bad("mq.type", "%q: the embedded log lives inside one process; cluster roles need natsmq or kafka", c.MQ.Type)
		case MQNats:
			if c.Milvago.NatsMQ.URL == "" {
				bad("milvago.natsmq.url", "empty: mq.type natsmq in cluster mode needs the URL of the NATS JetStream server(s)")
			}
		case MQKafka:
			if len(c.Kafka.BrokerList) == 0 {
				bad("kafka.brokerList", "empty: mq.type kafka needs the brokers")
			}
		}
	}
	return errors.Join(errs...)
}
