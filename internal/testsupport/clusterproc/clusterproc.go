//go:build linux

package clusterproc

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/testservers"
)

// Build compiles cmd/milvago into dir (CGO off, as the release binary) and
// returns its path; tests build it once per package run (TestMain).
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "milvago")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/milvago/milvago/cmd/milvago")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build milvago: %v\n%s", err, b)
	}
	return bin, nil
}

// Role is one `milvago run ROLE` process.
type Role struct {
	Name, Bin, Dir string
	Kind           string // the role it runs (querynode, proxy, ...)
	Args           []string
	Extra          []string // flags after Args, for one role only (Cluster.RestartRoles)
	Env            []string // environment variables added to the test's (KEY=value)
	Wrap           []string // command the process runs under, e.g. ip netns exec NAME
	Host           string   // where its /healthz answers ("": 127.0.0.1)
	MetricsPort    int
	Cmd            *exec.Cmd
	Done           chan struct{}
	logStart       int64 // the log's size when the process last started
}

// LogPath is the file the process's stdout and stderr go to.
func (r *Role) LogPath() string { return filepath.Join(r.Dir, r.Name+".log") }

// Start starts the process (it dies with the test process).
func (r *Role) Start(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(r.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r.logStart = 0
	if st, err := f.Stat(); err == nil {
		r.logStart = st.Size()
	}
	cmdline := append(append(append(slices.Clone(r.Wrap), r.Bin), r.Args...), r.Extra...)
	r.Cmd = exec.Command(cmdline[0], cmdline[1:]...)
	r.Cmd.Stdout, r.Cmd.Stderr = f, f
	if len(r.Env) > 0 {
		r.Cmd.Env = append(os.Environ(), r.Env...)
	}
	r.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", r.Name, err)
	}
	r.Done = make(chan struct{})
	go func() { r.Cmd.Wait(); f.Close(); close(r.Done) }()
}

// healthClient polls /healthz; its timeout keeps a port held by a process
// that accepts and never answers from stalling WaitReady.
var healthClient = &http.Client{Timeout: 2 * time.Second}

// WaitReady polls the role's /healthz until it answers 200.
func (r *Role) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	url := fmt.Sprintf("http://%s/healthz", net.JoinHostPort(cmp.Or(r.Host, "127.0.0.1"), fmt.Sprint(r.MetricsPort)))
	for time.Now().Before(deadline) {
		select {
		case <-r.Done:
			if portTaken(r.LogPath(), r.logStart) && r.repickPorts(t) {
				// Another process on the machine (a parallel test
				// package) bound one of its ports while it was down:
				// start it again on fresh ones (ProxyAddr, MetricsURL
				// read them from the role).
				t.Logf("%s: a port was taken while it was down; starting it on fresh ports", r.Name)
				r.Start(t)
				url = fmt.Sprintf("http://%s/healthz", net.JoinHostPort(cmp.Or(r.Host, "127.0.0.1"), fmt.Sprint(r.MetricsPort)))
				continue
			}
			t.Fatalf("%s exited while starting:\n%s", r.Name, Tail(r.LogPath()))
		default:
		}
		if resp, err := healthClient.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v:\n%s", r.Name, timeout, Tail(r.LogPath()))
}

// portTaken reports whether the log written since offset says a listen
// failed because the port was in use.
func portTaken(path string, offset int64) bool {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return false
	}
	return strings.Contains(string(b[offset:]), "address already in use")
}

// repickPorts gives the role fresh fixed ports (its metrics port and, on
// a proxy, its gRPC port) in place of the ones in its flags; it returns
// false if it has none to change.
func (r *Role) repickPorts(t testing.TB) bool {
	t.Helper()
	changed := false
	for i, a := range r.Args {
		name, val, ok := strings.Cut(a, "=")
		if !ok || val == "0" || !fixedPortFlag(strings.TrimPrefix(name, "--")) {
			continue
		}
		p := testservers.FreePort(t)
		if name == "--common.MetricsPort" {
			r.MetricsPort = p
		}
		r.Args[i] = name + "=" + fmt.Sprint(p)
		changed = true
	}
	return changed
}

// fixedPortFlag reports whether flag sets a role's metrics or gRPC port.
func fixedPortFlag(flag string) bool {
	return flag == "common.MetricsPort" || slices.Contains(slices.Collect(maps.Values(PortFlag)), flag)
}

// Kill sends SIGKILL and waits for the process to exit.
func (r *Role) Kill() {
	if r.Cmd == nil || r.Cmd.Process == nil {
		return
	}
	r.Cmd.Process.Signal(syscall.SIGKILL)
	<-r.Done
}

// Stop asks for a clean shutdown (SIGTERM), then kills after a grace time.
func (r *Role) Stop() {
	if r.Cmd == nil || r.Cmd.Process == nil {
		return
	}
	select {
	case <-r.Done:
		return
	default:
	}
	r.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.Done:
	case <-time.After(10 * time.Second):
		r.Kill()
	}
}

// Tail returns the last 40 lines of a log file.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// Cluster is the storage servers and the role processes.
type Cluster struct {
	Bin    string
	Dir    string
	Config string
	Roles  map[string]*Role
	Order  []string
	Etcd   []string                  // the etcd endpoints (the tests read the coordinators' state)
	NATS   string                    // the NATS URLs, comma-separated ("" on Kafka)
	IP     string                    // the roles' address (Opts.IP)
	S3     *testservers.S3Server     // the deployment's object store (bucket milvago)
	Kafka  *testservers.KafkaCluster // the log when Opts.KafkaBrokers > 0
	Args   []string                  // flags every role gets (Opts.Args)
	Env    map[string][]string       // environment of some roles, by name (Opts.Env)
}

// Opts are the settings of Start.
type Opts struct {
	// Bin is the milvago binary (Build).
	Bin string
	// LogLevel is every role's log.level ("": info, Milvus's default; an
	// empty level in the file would be refused by every role).
	LogLevel string
	// StorageNodes is the size of the etcd and NATS clusters: 3 as the
	// issue asks (etcd quorum of 2, JetStream streams with 3 replicas), or 1.
	StorageNodes int
	// IP is the address the roles bind and advertise ("": 127.0.0.1).
	IP string
	// KafkaBrokers > 0 runs the log on Kafka (mq.type: kafka, a kfake
	// process with that many brokers) instead of NATS.
	KafkaBrokers int
	// Args are configuration flags every role gets (--key=value).
	Args []string
	// Env adds environment variables (KEY=value) to the roles named, e.g.
	// MILVAGO_FAILPOINTS (internal/failpoint) to one data node.
	Env map[string][]string
	// File is YAML appended to the configuration file, for sections a
	// flag cannot set (credential.<name>.*, as in milvus.yaml).
	File string
}

// Procs maps a storage server's name (s3, etcd-0, nats-1, kafka) to its
// process ID.
type Procs = map[string]int

// kafkaMQ starts a Kafka cluster of brokers brokers (kfake as a process of
// its own, testservers.StartKafka) and returns the mq section of the
// configuration that points at it, and the cluster; brokers = 0 starts
// nothing and returns "" and nil.
func kafkaMQ(t testing.TB, brokers int) (string, *testservers.KafkaCluster) {
	t.Helper()
	if brokers == 0 {
		return "", nil
	}
	k := testservers.StartKafka(t, brokers)
	return fmt.Sprintf("mq:\n  type: kafka\nkafka:\n  brokerList: %s\n", k.BrokerList()), k
}

// Start starts etcd, NATS (or Kafka) and S3, then the given roles
// (name:role, e.g. "proxy-2:proxy"), each in its own process, and waits
// until every role is ready. It returns the storage servers' process IDs
// too (the benchmarks measure their CPU). Everything stops when t ends.
func Start(t testing.TB, o Opts, specs ...string) (*Cluster, Procs) {
	t.Helper()
	etcd := testservers.StartEtcd(t, o.StorageNodes)
	mq, kafka := kafkaMQ(t, o.KafkaBrokers)
	var nats *testservers.NATSCluster
	if mq == "" {
		nats = testservers.StartNATS(t, o.StorageNodes)
		mq = fmt.Sprintf("mq:\n  type: natsmq\nmilvago:\n  natsmq:\n    url: %s\n    replicas: %d\n", nats.URL(), o.StorageNodes)
	}
	s3 := testservers.StartS3(t)
	host, port, _ := strings.Cut(s3.Endpoint, ":")
	c := &Cluster{Bin: o.Bin, Dir: t.TempDir(), Roles: map[string]*Role{}, Etcd: etcd.Endpoints(), S3: s3,
		IP: cmp.Or(o.IP, "127.0.0.1"), Args: o.Args, Env: o.Env}
	if nats != nil {
		c.NATS = nats.URL()
	}
	c.Config = filepath.Join(c.Dir, "milvus.yaml")
	yaml := fmt.Sprintf(`etcd:
  endpoints: [%s]
  rootPath: cluster-test
minio:
  address: %s
  port: %s
  accessKeyID: %s
  secretAccessKey: %s
  bucketName: milvago
  region: %s
%slog:
  level: %s
common:
  session:
    ttl: 5 # a killed process's session expires in 5 s (Milvus's default 15 s)
proxy:
  internalPort: 0 # several proxies share the host
quotaAndLimits:
  flushRate:
    collection:
      max: -1 # the tests flush a collection more often than once in 10 s
`, strings.Join(etcd.Endpoints(), ", "), host, port, s3.AccessKey, s3.SecretKey, s3.Region, mq, cmp.Or(o.LogLevel, "info")) + o.File
	if err := os.WriteFile(c.Config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := len(c.Order) - 1; i >= 0; i-- {
			c.Roles[c.Order[i]].Stop()
		}
		if t.Failed() {
			for _, name := range c.Order {
				t.Logf("---- %s log ----\n%s", name, Tail(c.Roles[name].LogPath()))
			}
		}
	})
	for _, spec := range specs {
		c.Add(t, spec)
	}
	for _, name := range c.Order {
		c.Roles[name].WaitReady(t, 90*time.Second)
	}
	ps := Procs{"s3": s3.Pid()}
	name := func(kind string, i int) string {
		if o.StorageNodes == 1 {
			return kind
		}
		return fmt.Sprintf("%s-%d", kind, i)
	}
	for i, m := range etcd.Members {
		ps[name("etcd", i)] = m.Pid()
	}
	if kafka != nil {
		c.Kafka = kafka
		ps["kafka"] = kafka.Pid()
	}
	if nats != nil {
		for i, n := range nats.Nodes {
			ps[name("nats", i)] = n.Pid()
		}
	}
	return c, ps
}

// ObjectsDir is the directory that holds the deployment's objects as
// files (the S3 server's bucket milvago under the default minio.rootPath,
// milvago): object K is the file ObjectsDir()/K, as under a standalone
// server's data directory's objects/.
func (c *Cluster) ObjectsDir() string { return filepath.Join(c.S3.Root, "milvago", "milvago") }

// PortFlag is the flag of each role's gRPC port.
var PortFlag = map[string]string{
	"proxy": "proxy.port", "mixcoord": "mixCoord.port", "rootcoord": "rootCoord.port", "datacoord": "dataCoord.port",
	"querycoord": "queryCoord.port", "indexcoord": "indexCoord.port", "querynode": "queryNode.port",
	"datanode": "dataNode.port", "indexnode": "indexNode.port", "streamingnode": "streamingNode.port",
}

// IPFlag is the flag of each role's bind and advertised address.
var IPFlag = map[string]string{
	"proxy": "proxy.ip", "mixcoord": "mixCoord.ip", "rootcoord": "rootCoord.ip", "datacoord": "dataCoord.ip",
	"querycoord": "queryCoord.ip", "indexcoord": "indexCoord.ip", "querynode": "queryNode.ip",
	"datanode": "dataNode.ip", "indexnode": "indexNode.ip", "streamingnode": "streamingNode.ip",
}

// Add starts one more role (spec is name:role or role) without waiting for
// it to be ready (Role.WaitReady).
func (c *Cluster) Add(t testing.TB, spec string) *Role {
	t.Helper()
	name, kind, ok := strings.Cut(spec, ":")
	if !ok {
		kind = name
	}
	r := &Role{Name: name, Kind: kind, Bin: c.Bin, Dir: c.Dir, MetricsPort: testservers.FreePort(t), Env: c.Env[name]}
	// Internal roles bind any free port (0) and advertise it in their
	// session; the test dials only the proxies, which get a fixed one.
	port := 0
	if kind == "proxy" {
		port = testservers.FreePort(t)
	}
	r.Args = []string{"run", kind, "--config", c.Config,
		"--" + PortFlag[kind] + "=" + fmt.Sprint(port),
		"--" + IPFlag[kind] + "=" + c.IP,
		"--common.MetricsPort=" + fmt.Sprint(r.MetricsPort),
		c.LocalStorageArg(t, name)}
	r.Args = append(r.Args, c.Args...)
	r.Start(t)
	c.Roles[name] = r
	c.Order = append(c.Order, name)
	return r
}

// Remove stops a role (SIGTERM, SIGKILL after a grace time) and forgets
// it: the deployment without that process.
func (c *Cluster) Remove(name string) {
	r, ok := c.Roles[name]
	if !ok {
		return
	}
	r.Stop()
	delete(c.Roles, name)
	c.Order = slices.DeleteFunc(c.Order, func(n string) bool { return n == name })
}

// Named returns the names of the roles of kind (querynode, proxy, ...), in
// the order they were started.
func (c *Cluster) Named(kind string) []string {
	var out []string
	for _, name := range c.Order {
		if c.Roles[name].Kind == kind {
			out = append(out, name)
		}
	}
	return out
}

// RestartRoles stops the named roles, starts each again with its flags
// followed by extra (nil: its flags alone, as started), and waits until
// each is ready; the other roles keep running. Milvus's refreshable
// settings of one role (a proxy's common.requery.*) change so, without
// the rest of the deployment reloading its data.
func (c *Cluster) RestartRoles(t testing.TB, extra []string, names ...string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(c.Roles[name].Stop)
	}
	wg.Wait()
	for _, name := range names {
		r := c.Roles[name]
		r.Extra = slices.Clone(extra)
		r.Start(t)
	}
	for _, name := range names {
		c.Roles[name].WaitReady(t, 90*time.Second)
	}
}

// LocalStorageArg is the flag that gives role name a directory of its own
// for node-local files (localStorage.path, <Dir>/local/<name>/), created
// here: processes of one cluster, like the nodes of a real deployment, do
// not share one, and none uses the default /var/lib/milvus/data/.
func (c *Cluster) LocalStorageArg(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(c.Dir, "local", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("local storage of %s: %v", name, err)
	}
	return "--localStorage.path=" + dir + string(filepath.Separator)
}

// ProxyAddr returns the gRPC address of a proxy role (its proxy.port flag).
func (c *Cluster) ProxyAddr(name string) string {
	for _, a := range c.Roles[name].Args {
		if v, ok := strings.CutPrefix(a, "--proxy.port="); ok {
			return net.JoinHostPort(c.IP, v)
		}
	}
	return ""
}

// MetricsURL returns the base URL of a role's HTTP server (/healthz,
// /metrics; on a proxy also the REST API).
func (c *Cluster) MetricsURL(name string) string {
	r := c.Roles[name]
	return "http://" + net.JoinHostPort(cmp.Or(r.Host, c.IP), fmt.Sprint(r.MetricsPort))
}

// Reconfigure replaces the flags every role gets (Opts.Args) by args and
// restarts every role (Restart): the same deployment, on the same
// storage, started with other options.
func (c *Cluster) Reconfigure(t testing.TB, args []string) {
	t.Helper()
	for _, name := range c.Order {
		r := c.Roles[name]
		r.Args = append(slices.Clone(r.Args[:len(r.Args)-len(c.Args)]), args...)
	}
	c.Args = slices.Clone(args)
	c.Restart(t)
}

// Restart stops every role at once (SIGTERM, SIGKILL after a grace time),
// starts them again with the same flags and ports, and waits until each
// is ready: the deployment restarted on the same storage.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	var wg sync.WaitGroup
	for _, name := range c.Order {
		wg.Go(c.Roles[name].Stop)
	}
	wg.Wait()
	for _, name := range c.Order {
		c.Roles[name].Start(t)
	}
	for _, name := range c.Order {
		c.Roles[name].WaitReady(t, 90*time.Second)
	}
}
