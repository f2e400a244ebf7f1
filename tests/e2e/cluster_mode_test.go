//go:build linux

package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/rbac"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/testsupport/clusterproc"
)

// Cluster mode (MILVAGO_E2E_CLUSTER=1, docs/cluster.md): startServer and
// startServerWith hand a test two proxies of a cluster of processes
// (internal/testsupport/clusterproc) instead of an in-process standalone
// server: real etcd (3 members), NATS JetStream (3 nodes), an S3 server
// (versitygw) and every role as its own `milvago run ROLE` process. The
// binaries come from MILVAGO_ETCD_BIN, MILVAGO_NATS_BIN and MILVAGO_S3_BIN
// (or PATH), milvago from MILVAGO_BIN or a build of cmd/milvago. The roles
// log at MILVAGO_E2E_CLUSTER_LOG (default warn); a failed test prints the
// tail of each role's log, and copies the logs under
// MILVAGO_E2E_CLUSTER_LOGDIR/TEST if that is set.
//
// Starting a cluster takes many seconds, so tests share one: the harness
// keeps the cluster of the default configuration for the whole package
// and, for the tests whose configure sets keys a cluster takes from its
// configuration file (clusterFlags), clusters with those keys (the
// keepSpecial most recently used stay up). Tests that read or damage
// objects find them as files under server.objectsDir (the S3 server's
// directory). Before a test gets a cluster, the
// harness empties it (resetCluster): the collections, databases, aliases,
// users, roles and resource groups earlier tests left behind are dropped,
// so each test starts from a fresh deployment as it would in standalone.

// clusterRoles are the processes of an e2e cluster: every coordinator on
// its own, one worker of each kind and two proxies.
var clusterRoles = []string{"rootcoord", "datacoord", "querycoord", "indexcoord", "streamingnode", "datanode",
	"querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy"}

// sessionArgs set the session TTL to 30 s (tests/cluster's file says 5 s
// so that killed processes are noticed quickly): no test here kills a
// role, and a process that the loaded test machine stalls for more than
// half the TTL fences itself off and exits.
var sessionArgs = []string{"--common.session.ttl=30"}

// e2eCluster is one running cluster and the MainTB that owns its processes.
type e2eCluster struct {
	key  string   // its clusterFlags, joined (clusterKey)
	args []string // the flags its roles get
	file string   // the YAML appended to its configuration file
	// runningKey is the key of the options a test restarted it with
	// (an auth restart) until that test ends; "": its own.
	runningKey string
	tb         *clusterproc.MainTB
	c          *clusterproc.Cluster
	proxies    []string // the two proxies' gRPC addresses
	http       []string // their HTTP servers (REST, /metrics)
	auth       bool     // common.security.authorizationEnabled
}

var clusters struct {
	mu      sync.Mutex
	bin     string
	binDir  string
	base    *e2eCluster   // the default configuration's
	special []*e2eCluster // the non-default ones, the most recently used first
	tests   int           // tests handed a cluster so far (alternates the proxies)
	// dirs are the data directories tests started a server on, and the
	// cluster they got: starting on one again restarts that cluster.
	dirs map[string]*e2eCluster
}

func clusterMode() bool { return os.Getenv(clusterEnv) == "1" }

// startOnCluster is startServerWith in cluster mode. A test that starts
// the server again on the same data directory (dir) restarts every role
// of its cluster on the same storage instead.
func startOnCluster(t *testing.T, dir string, configure func(*app.StandaloneConfig)) *server {
	t.Helper()
	flags, file, auth, unsupported := clusterFlags(configure)
	if unsupported != "" {
		standaloneOnly(t, "configures the in-process server ("+unsupported+") beyond what a cluster takes from its configuration file")
	}
	key := clusterKey(flags, file)
	clusters.mu.Lock()
	prev := clusters.dirs[dir]
	clusters.mu.Unlock()
	var cl *e2eCluster
	if prev != nil {
		cl = prev
		start := time.Now()
		running := cmpOr(cl.runningKey, cl.key)
		switch {
		case key == running:
			cl.c.Restart(t)
		case file != cl.file:
			standaloneOnly(t, "restarts the server on its data directory with other credentials (a section of the configuration file)")
		default:
			// The same deployment restarted with other options (an auth
			// restart): its roles get the new flags, and their own
			// again after the test, since the cluster is shared under
			// its own configuration.
			cl.c.Reconfigure(t, append(slices.Clone(sessionArgs), flags...))
			if running == cl.key {
				t.Cleanup(func() {
					cl.runningKey = ""
					if err := cl.tb.Run(func(tb testing.TB) { cl.c.Reconfigure(tb, cl.args) }); err != nil {
						t.Errorf("restart the e2e cluster with its own options again: %v", err)
						dropCluster(cl) // later tests start one of their own
					}
				})
			}
			if cl.runningKey = key; key == cl.key {
				cl.runningKey = ""
			}
		}
		t.Logf("restarted every role of the e2e cluster (%s) in %v", cmpOr(strings.Join(flags, " "), "defaults"), time.Since(start).Round(time.Millisecond))
	} else {
		var fresh bool
		cl, fresh = sharedCluster(t, flags, file, auth)
		if !fresh { // a cluster just started holds nothing to drop
			resetCluster(t, cl)
		}
		t.Cleanup(func() {
			if !t.Failed() {
				return
			}
			keep := os.Getenv("MILVAGO_E2E_CLUSTER_LOGDIR")
			for _, name := range cl.c.Order {
				t.Logf("---- %s log (tail) ----\n%s", name, clusterproc.Tail(cl.c.Roles[name].LogPath()))
				if keep != "" {
					b, _ := os.ReadFile(cl.c.Roles[name].LogPath())
					os.MkdirAll(filepath.Join(keep, t.Name()), 0o755)
					os.WriteFile(filepath.Join(keep, t.Name(), name+".log"), b, 0o644)
				}
			}
		})
	}
	clusters.mu.Lock()
	if dir != "" {
		clusters.dirs[dir] = cl
	}
	n := clusters.tests
	clusters.tests++
	clusters.mu.Unlock()
	// Tests alternate which proxy srv.addr names, and srv.client hands
	// out the two proxies in turn, so a test with two clients writes
	// through one and reads through the other.
	return &server{addr: cl.proxies[n%2], httpURL: cl.http[n%2], proxies: cl.proxies, next: n, objects: cl.c.ObjectsDir(), cl: cl}
}

// clusterKey names a cluster's configuration: its flags and the YAML
// appended to its file.
func clusterKey(flags []string, file string) string {
	return strings.Join(flags, " ") + file
}

// clusterFlags maps what configure changes in the standalone defaults to
// the configuration keys of a cluster's roles: flags, and file for what
// only the configuration file sets (credential.*). unsupported names the
// fields it changes that have no such key (the test cannot run on a
// cluster).
func clusterFlags(configure func(*app.StandaloneConfig)) (flags []string, file string, auth bool, unsupported string) {
	if configure == nil {
		return nil, "", false, ""
	}
	def := app.DefaultStandalone()
	cfg := def
	configure(&cfg)
	key := cfg.Data.Compaction.Clustering.Key // as configured, before the loop below resets what it maps
	if !reflect.DeepEqual(cfg.Auth, def.Auth) {
		a := cfg.Auth
		auth = a.Enabled
		flags = append(flags, fmt.Sprintf("--common.security.authorizationEnabled=%t", a.Enabled))
		if a.RootPassword != "" {
			flags = append(flags, "--common.security.defaultRootPassword="+a.RootPassword)
		}
		if len(a.Options.SuperUsers) > 0 {
			flags = append(flags, "--common.security.superUsers="+strings.Join(a.Options.SuperUsers, ","))
		}
		if a.Options.RootShouldBindRole {
			flags = append(flags, "--common.security.rootShouldBindRole=true")
		}
		if a.Options.NoPublicPrivilege {
			flags = append(flags, "--common.security.enablePublicPrivilege=false")
		}
		cfg.Auth.Options = rbac.Options{}
		cfg.Auth = def.Auth
	}
	if cfg.Data.Compaction.Auto != def.Data.Compaction.Auto {
		flags = append(flags, fmt.Sprintf("--dataCoord.compaction.enableAutoCompaction=%t", cfg.Data.Compaction.Auto))
		cfg.Data.Compaction.Auto = def.Data.Compaction.Auto
	}
	if cfg.Data.GC.Enable != def.Data.GC.Enable {
		flags = append(flags, fmt.Sprintf("--dataCoord.enableGarbageCollection=%t", cfg.Data.GC.Enable))
		cfg.Data.GC.Enable = def.Data.GC.Enable
	}
	// The intervals and tolerances: the keys count whole seconds, so a
	// test's shorter one (fastCompaction's 300 ms) becomes the next whole
	// second: the same passes, at most 1 s later.
	for _, d := range []struct {
		key      string
		cur, def *time.Duration
	}{
		{"dataCoord.compaction.mix.triggerInterval", &cfg.Data.Compaction.TriggerInterval, &def.Data.Compaction.TriggerInterval},
		{"dataCoord.gc.interval", &cfg.Data.GC.Interval, &def.Data.GC.Interval},
		{"dataCoord.gc.missingTolerance", &cfg.Data.GC.MissingTolerance, &def.Data.GC.MissingTolerance},
		{"dataCoord.gc.dropTolerance", &cfg.Data.GC.DropTolerance, &def.Data.GC.DropTolerance},
	} {
		if *d.cur != *d.def {
			flags = append(flags, fmt.Sprintf("--%s=%d", d.key, max(1, int64((*d.cur+time.Second-1)/time.Second))))
			*d.cur = *d.def
		}
	}
	if cfg.Data.Compaction.Clustering.Key.EnableVectorKey != def.Data.Compaction.Clustering.Key.EnableVectorKey {
		flags = append(flags, fmt.Sprintf("--common.enableVectorClusteringKey=%t", cfg.Data.Compaction.Clustering.Key.EnableVectorKey))
		cfg.Data.Compaction.Clustering.Key.EnableVectorKey = def.Data.Compaction.Clustering.Key.EnableVectorKey
	}
	if in := cfg.Interim; in != nil {
		d := segment.DefaultInterimIndexConfig()
		if in.SegmentMaxBytes == d.SegmentMaxBytes {
			flags = append(flags, fmt.Sprintf("--queryNode.segcore.interimIndex.enableIndex=%t", in.Enable),
				fmt.Sprintf("--queryNode.segcore.interimIndex.nlist=%d", in.NList),
				fmt.Sprintf("--queryNode.segcore.interimIndex.nprobe=%d", in.NProbe),
				fmt.Sprintf("--queryNode.segcore.interimIndex.indexBuildRatio=%g", in.BuildRatio))
			cfg.Interim = def.Interim
		}
	}
	// The segment bounds: dataCoord.segment.maxSize counts MB, and
	// takes a fraction as Milvus's does.
	if cfg.Data.MaxSegmentBytes != def.Data.MaxSegmentBytes {
		flags = append(flags, "--dataCoord.segment.maxSize="+strconv.FormatFloat(float64(cfg.Data.MaxSegmentBytes)/(1<<20), 'g', -1, 64))
		cfg.Data.MaxSegmentBytes = def.Data.MaxSegmentBytes
	}
	if cfg.Data.MaxSegmentRows != def.Data.MaxSegmentRows {
		flags = append(flags, fmt.Sprintf("--milvago.dataCoord.segment.maxRows=%d", cfg.Data.MaxSegmentRows))
		cfg.Data.MaxSegmentRows = def.Data.MaxSegmentRows
	}
	// The query nodes' pruning uses the same clustering key options as
	// the data coordinator (one set of common.* keys).
	if p := cfg.Prune; p != nil && p.Key == key {
		flags = append(flags, fmt.Sprintf("--queryNode.enableSegmentPrune=%t", p.Enable),
			"--queryNode.defaultSegmentFilterRatio="+strconv.FormatFloat(p.FilterRatio, 'g', -1, 64))
		cfg.Prune = def.Prune
	}
	if k, dk := cfg.Data.Compaction.Clustering.Key, def.Data.Compaction.Clustering.Key; k != dk {
		if k.UseVectorAsKey != dk.UseVectorAsKey {
			flags = append(flags, fmt.Sprintf("--common.useVectorAsClusteringKey=%t", k.UseVectorAsKey))
		}
		if k.UsePartitionKeyAsKey != dk.UsePartitionKeyAsKey {
			flags = append(flags, fmt.Sprintf("--common.usePartitionKeyAsClusteringKey=%t", k.UsePartitionKeyAsKey))
		}
		cfg.Data.Compaction.Clustering.Key = dk
	}
	// The log retention: the interval in ms, the window in whole
	// seconds (rounded up).
	if cfg.Retention != def.Retention {
		r := cfg.Retention
		flags = append(flags, fmt.Sprintf("--milvago.logRetention.interval=%d", max(1, r.Interval.Milliseconds())),
			fmt.Sprintf("--milvago.logRetention.window=%d", int64((r.Window+time.Second-1)/time.Second)))
		cfg.Retention = def.Retention
	}
	// The root coordinator's collection limits.
	if cfg.Root.MaxCollections != def.Root.MaxCollections {
		flags = append(flags, fmt.Sprintf("--quotaAndLimits.limits.maxCollectionNum=%d", cfg.Root.MaxCollections))
		cfg.Root.MaxCollections = def.Root.MaxCollections
	}
	if cfg.Root.MaxCollectionsPerDB != def.Root.MaxCollectionsPerDB {
		flags = append(flags, fmt.Sprintf("--quotaAndLimits.limits.maxCollectionNumPerDB=%d", cfg.Root.MaxCollectionsPerDB))
		cfg.Root.MaxCollectionsPerDB = def.Root.MaxCollectionsPerDB
	}
	// TLS of the proxies' public port (the roles' internal gRPC stays
	// plain: common.security.internaltlsEnabled is false, Milvus's
	// default).
	if cfg.Public.TLSMode != def.Public.TLSMode || cfg.Public.TLS != def.Public.TLS {
		flags = append(flags, fmt.Sprintf("--common.security.tlsMode=%d", cfg.Public.TLSMode),
			"--tls.serverPemPath="+cfg.Public.TLS.ServerPemPath, "--tls.serverKeyPath="+cfg.Public.TLS.ServerKeyPath,
			"--tls.caPemPath="+cfg.Public.TLS.CAPemPath)
		cfg.Public.TLSMode, cfg.Public.TLS = def.Public.TLSMode, def.Public.TLS
	}
	var left []string
	if !reflect.DeepEqual(cfg.Public.Models, def.Public.Models) {
		mf, mfile, unmapped := modelFlags(cfg.Public.Models)
		flags, file, left = append(flags, mf...), mfile, unmapped
		cfg.Public.Models = def.Public.Models
	}
	if cfg.Public.Limits != def.Public.Limits {
		lf, unmapped := limitFlags(cfg.Public.Limits)
		flags, left = append(flags, lf...), append(left, unmapped...)
		cfg.Public.Limits = def.Public.Limits
	}
	cv, dv := reflect.ValueOf(cfg), reflect.ValueOf(def)
	for i := range cv.NumField() {
		if !reflect.DeepEqual(cv.Field(i).Interface(), dv.Field(i).Interface()) {
			left = append(left, cv.Type().Field(i).Name)
		}
	}
	return flags, file, auth, strings.Join(left, ", ")
}

// modelFlags are the flags (and the configuration file's credential
// section) that give a cluster's roles the model services m: the
// function.* keys of each provider, function.models.zilliz.* and the
// milvago.function.* timing. unmapped names what has no key.
func modelFlags(m embedding.Config) (flags []string, file string, unmapped []string) {
	known := map[string]bool{}
	for _, k := range config.Keys() {
		known[k.Name] = true
	}
	set := func(key, val, field string) {
		if !known[key] && known["milvago."+key] { // Milvago's key where Milvus has none
			key = "milvago." + key
		}
		if !known[key] {
			unmapped = append(unmapped, "Public.Models."+field)
			return
		}
		flags = append(flags, "--"+key+"="+val)
	}
	providers := func(prefix, field string, ps map[string]embedding.Provider) {
		for _, name := range slices.Sorted(maps.Keys(ps)) {
			p, at := ps[name], field+"."+name
			if p.Disabled {
				set(prefix+name+".enable", "false", at+".Disabled")
			}
			if p.URL != "" {
				set(prefix+name+".url", p.URL, at+".URL")
			}
			if p.Credential != "" {
				set(prefix+name+".credential", p.Credential, at+".Credential")
			}
			if p.ResourceName != "" {
				set(prefix+name+".resource_name", p.ResourceName, at+".ResourceName")
			}
		}
	}
	providers("function.textEmbedding.providers.", "TextEmbedding", m.TextEmbedding)
	providers("function.rerank.model.providers.", "Rerank", m.Rerank)
	z := m.Zilliz
	if z.Endpoint != "" {
		set("function.models.zilliz.endpoint", z.Endpoint, "Zilliz.Endpoint")
	}
	if z.EnableTLS {
		set("function.models.zilliz.enableTLS", "true", "Zilliz.EnableTLS")
	}
	if z.CertFile != "" {
		set("function.models.zilliz.certFile", z.CertFile, "Zilliz.CertFile")
	}
	if z.ServerNameOverride != "" {
		set("function.models.zilliz.serverNameOverride", z.ServerNameOverride, "Zilliz.ServerNameOverride")
	}
	if z.InstanceID != "" {
		set("msgChannel.chanNamePrefix.cluster", z.InstanceID, "Zilliz.InstanceID")
	}
	if m.Timeout > 0 {
		set("milvago.function.requestTimeout", strconv.FormatInt(max(1, m.Timeout.Milliseconds()), 10), "Timeout")
	}
	if m.Retries > 0 {
		set("milvago.function.maxRetries", strconv.Itoa(m.Retries), "Retries")
	}
	if m.Backoff > 0 {
		set("milvago.function.retryBackoff", strconv.FormatInt(max(1, m.Backoff.Milliseconds()), 10), "Backoff")
	}
	if m.BatchFactor != 0 {
		unmapped = append(unmapped, "Public.Models.BatchFactor")
	}
	if m.Env != nil || m.Client != nil {
		unmapped = append(unmapped, "Public.Models.Env/Client")
	}
	// credential.<name>.apikey and the other credential values: a
	// section of the file only, as in milvus.yaml.
	creds := map[string]map[string]string{}
	for name, v := range m.Credentials {
		creds[name] = map[string]string{"apikey": v}
	}
	for nk, v := range m.CredentialValues {
		name, k, _ := strings.Cut(nk, ".")
		if creds[name] == nil {
			creds[name] = map[string]string{}
		}
		creds[name][k] = v
	}
	if len(creds) > 0 {
		var b strings.Builder
		b.WriteString("credential:\n")
		for _, name := range slices.Sorted(maps.Keys(creds)) {
			fmt.Fprintf(&b, "  %s:\n", name)
			for _, k := range slices.Sorted(maps.Keys(creds[name])) {
				fmt.Fprintf(&b, "    %s: %q\n", k, creds[name][k])
			}
		}
		file = b.String()
	}
	return flags, file, unmapped
}

// keepSpecial is how many clusters of non-default configurations stay up
// besides the default one: tests of two configurations that alternate
// (fastCompaction with and without automatic compaction, in file order)
// then start each cluster once instead of once per test. Each is about ten
// processes of 40-100 MB.
const keepSpecial = 2

// sharedCluster returns the running cluster started with flags and file
// (fresh: started now), starting
// it (and stopping the least recently used non-default one beyond
// keepSpecial) if needed.
func sharedCluster(t *testing.T, flags []string, file string, auth bool) (cl *e2eCluster, fresh bool) {
	t.Helper()
	key := clusterKey(flags, file)
	clusters.mu.Lock()
	defer clusters.mu.Unlock()
	if key == "" && clusters.base != nil {
		return clusters.base, false
	}
	if key != "" {
		if i := slices.IndexFunc(clusters.special, func(cl *e2eCluster) bool { return cl.key == key }); i >= 0 {
			cl := clusters.special[i]
			clusters.special = append([]*e2eCluster{cl}, slices.Delete(clusters.special, i, i+1)...)
			return cl, false
		}
		if n := len(clusters.special); n >= keepSpecial {
			// The least recently used one goes.
			old := clusters.special[n-1]
			clusters.special = clusters.special[:n-1]
			old.tb.Close()
			for d, cl := range clusters.dirs {
				if cl == old {
					delete(clusters.dirs, d)
				}
			}
		}
	}
	if clusters.dirs == nil {
		clusters.dirs = map[string]*e2eCluster{}
	}
	if clusters.bin == "" {
		if clusters.bin = os.Getenv("MILVAGO_BIN"); clusters.bin == "" {
			dir, err := os.MkdirTemp("", "milvago-e2e-")
			if err != nil {
				t.Fatal(err)
			}
			clusters.binDir = dir
			if clusters.bin, err = clusterproc.Build(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	args := append(slices.Clone(sessionArgs), flags...)
	cl = &e2eCluster{key: key, args: args, file: file, tb: clusterproc.NewMainTB("e2e-cluster"), auth: auth}
	err := cl.tb.Run(func(tb testing.TB) {
		cl.c, _ = clusterproc.Start(tb, clusterproc.Opts{Bin: clusters.bin, LogLevel: cmpOr(os.Getenv("MILVAGO_E2E_CLUSTER_LOG"), "warn"), StorageNodes: 3, Args: args, File: file},
			clusterRoles...)
	})
	if err != nil {
		cl.tb.Close()
		if cl.tb.Skipped() { // a storage server's binary is missing and CI is not true
			t.Skipf("start the e2e cluster: %v", err)
		}
		t.Fatalf("start the e2e cluster (%s): %v", key, err)
	}
	for _, p := range []string{"proxy-1", "proxy-2"} {
		cl.proxies = append(cl.proxies, cl.c.ProxyAddr(p))
		cl.http = append(cl.http, cl.c.MetricsURL(p))
	}
	t.Logf("started an e2e cluster (%s) in %v: proxies %v", cmpOr(key, "defaults"), time.Since(start).Round(time.Millisecond), cl.proxies)
	if key == "" {
		clusters.base = cl
	} else {
		clusters.special = append([]*e2eCluster{cl}, clusters.special...)
	}
	return cl, true
}

// dropCluster stops cl and forgets it.
func dropCluster(cl *e2eCluster) {
	clusters.mu.Lock()
	defer clusters.mu.Unlock()
	if clusters.base == cl {
		clusters.base = nil
	}
	clusters.special = slices.DeleteFunc(clusters.special, func(c *e2eCluster) bool { return c == cl })
	for d, c := range clusters.dirs {
		if c == cl {
			delete(clusters.dirs, d)
		}
	}
	cl.tb.Close()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// stopClusters stops every cluster the tests started (TestMain).
func stopClusters() {
	clusters.mu.Lock()
	defer clusters.mu.Unlock()
	for _, cl := range append(slices.Clone(clusters.special), clusters.base) {
		if cl != nil {
			cl.tb.Close()
		}
	}
	if clusters.binDir != "" {
		os.RemoveAll(clusters.binDir)
	}
}

// builtinRoles are the roles a deployment starts with.
var builtinRoles = map[string]bool{"admin": true, "public": true}

// builtinGroup reports whether a privilege group is one of Milvus's
// built-in ones (ClusterReadOnly, DatabaseAdmin, CollectionReadWrite, ...).
func builtinGroup(name string) bool {
	for _, scope := range []string{"Cluster", "Database", "Collection"} {
		for _, level := range []string{"ReadOnly", "ReadWrite", "Admin"} {
			if name == scope+level {
				return true
			}
		}
	}
	return false
}

const defaultRG = "__default_resource_group"

// resetCluster empties cl of what earlier tests created, through a proxy
// as a user would: aliases, collections, databases, users, roles and
// resource groups.
func resetCluster(t *testing.T, cl *e2eCluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conf := &milvusclient.ClientConfig{Address: cl.proxies[0]}
	if cl.auth {
		conf.Username, conf.Password = "root", "Milvus"
	}
	cli, err := milvusclient.New(ctx, conf)
	if err != nil {
		t.Fatalf("reset the e2e cluster: connect: %v", err)
	}
	defer cli.Close(context.Background())
	fail := func(what string, err error) {
		if err != nil {
			t.Fatalf("reset the e2e cluster: %s: %v", what, err)
		}
	}
	dbs, err := cli.ListDatabase(ctx, milvusclient.NewListDatabaseOption())
	fail("list databases", err)
	users, err := cli.ListUsers(ctx, milvusclient.NewListUserOption())
	fail("list users", err)
	for _, u := range users {
		if u != "root" {
			fail("drop user "+u, cli.DropUser(ctx, milvusclient.NewDropUserOption(u)))
		}
	}
	roles, err := cli.ListRoles(ctx, milvusclient.NewListRoleOption())
	fail("list roles", err)
	for _, r := range roles {
		if builtinRoles[r] {
			continue
		}
		// A role's grants are listed per database: revoke them in each
		// (and on "*"), while the databases still exist.
		grants := map[entity.GrantItem]bool{}
		for _, db := range append(dbs, "*") {
			role, err := cli.DescribeRole(ctx, milvusclient.NewDescribeRoleOption(r).WithDbName(db))
			fail("describe role "+r+" in "+db, err)
			for _, g := range role.Privileges {
				grants[g] = true
			}
		}
		for g := range grants {
			err := cli.RevokePrivilege(ctx, milvusclient.NewRevokePrivilegeOption(r, g.Object, g.Privilege, g.ObjectName).WithDbName(g.DbName))
			if err != nil { // a privilege group: only RevokePrivilegeV2 takes them
				err = cli.RevokePrivilegeV2(ctx, milvusclient.NewRevokePrivilegeV2Option(r, g.Privilege, g.ObjectName).WithDbName(g.DbName))
			}
			fail("revoke "+g.Privilege+" from "+r, err)
		}
		fail("drop role "+r, cli.DropRole(ctx, milvusclient.NewDropRoleOption(r)))
	}
	for _, db := range dbs {
		fail("use "+db, cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption(db)))
		names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
		fail("list collections of "+db, err)
		for _, name := range names {
			aliases, err := cli.ListAliases(ctx, milvusclient.NewListAliasesOption(name))
			fail("list aliases of "+name, err)
			for _, a := range aliases {
				fail("drop alias "+a, cli.DropAlias(ctx, milvusclient.NewDropAliasOption(a)))
			}
		}
		for _, name := range names {
			fail("drop collection "+name, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
		}
		if db != "default" {
			fail("use default", cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("default")))
			fail("drop database "+db, cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption(db)))
		}
	}
	fail("use default", cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("default")))
	groups, err := cli.ListPrivilegeGroups(ctx, milvusclient.NewListPrivilegeGroupsOption())
	fail("list privilege groups", err)
	for _, g := range groups {
		if !builtinGroup(g.GroupName) {
			fail("drop privilege group "+g.GroupName, cli.DropPrivilegeGroup(ctx, milvusclient.NewDropPrivilegeGroupOption(g.GroupName)))
		}
	}
	rgs, err := cli.ListResourceGroups(ctx, milvusclient.NewListResourceGroupsOption())
	fail("list resource groups", err)
	for _, rg := range rgs {
		if rg == defaultRG {
			continue
		}
		fail("empty resource group "+rg, cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption(rg, &entity.ResourceGroupConfig{
			Requests: entity.ResourceGroupLimit{NodeNum: 0}, Limits: entity.ResourceGroupLimit{NodeNum: 0}})))
		fail("drop resource group "+rg, cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption(rg)))
	}
}

// limitKeys maps each leaf of config.Limits ("Insert.Collection") to the
// configuration key that sets it, found by loading each key alone with a
// value other than its default and seeing which leaf moves: the mapping
// the config package applies, not a copy of it. (Standalone: a cluster's
// configuration without its servers' addresses does not load; the keys
// are the same.)
var limitKeys = sync.OnceValue(func() map[string]config.Key {
	base, _, err := config.Load(config.Options{Mode: config.Standalone})
	if err != nil {
		panic(fmt.Sprintf("load the default configuration: %v", err))
	}
	before := limitLeaves(base.Limits)
	out := map[string]config.Key{}
	for _, k := range config.Keys() {
		var probes []string
		switch k.Type {
		case "bool":
			probes = []string{"true", "false"}
		case "int", "float":
			probes = []string{"7", "3", "0.37", "1.5", "-1"}
		case "string":
			// The limits' string leaves are enums (common.requery.*): two
			// of their values; other string keys move no limit leaf.
			probes = []string{"always", "never"}
		default:
			continue
		}
		for _, v := range probes {
			c, _, err := config.Load(config.Options{Mode: config.Standalone, Env: []string{k.Env + "=" + v}})
			if err != nil {
				continue
			}
			var moved []string
			for leaf, val := range limitLeaves(c.Limits) {
				if val != before[leaf] {
					moved = append(moved, leaf)
				}
			}
			if len(moved) == 1 {
				if _, ok := out[moved[0]]; !ok {
					out[moved[0]] = k
				}
				break
			}
			if len(moved) > 1 {
				break // a key of several leaves: not one this mapping can use
			}
		}
	}
	return out
})

// limitLeaves are the scalar fields of l by path, as configuration values.
func limitLeaves(l config.Limits) map[string]string {
	out := map[string]string{}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i), strings.TrimPrefix(path+"."+v.Type().Field(i).Name, "."))
			}
		case reflect.Bool:
			out[path] = strconv.FormatBool(v.Bool())
		case reflect.Int, reflect.Int64:
			out[path] = strconv.FormatInt(v.Int(), 10)
		case reflect.Float64:
			out[path] = strconv.FormatFloat(v.Float(), 'g', -1, 64)
		case reflect.String:
			out[path] = v.String()
		default:
			panic("config.Limits has a field of kind " + v.Kind().String() + " at " + path)
		}
	}
	walk(reflect.ValueOf(l), "")
	return out
}

// limitFlags are the flags that give a cluster's roles the limits l: every
// leaf with a key (so the configuration file's own quotaAndLimits values
// do not apply); unmapped names the leaves that differ from the cluster's
// defaults and have no key.
func limitFlags(l config.Limits) (flags []string, unmapped []string) {
	def := limitLeaves(config.Default(config.Cluster).Limits)
	keys := limitKeys()
	leaves := limitLeaves(l)
	names := slices.Sorted(maps.Keys(leaves))
	for _, leaf := range names {
		k, ok := keys[leaf]
		if !ok {
			if leaves[leaf] != def[leaf] {
				unmapped = append(unmapped, "Public.Limits."+leaf)
			}
			continue
		}
		flags = append(flags, "--"+k.Name+"="+leaves[leaf])
	}
	return flags, unmapped
}
