package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/sysinfo"
)

// processStart is when this process started (a component's created and
// updated time in GetMetrics, as Milvus's paramtable create time).
var processStart = time.Now()

// componentsOf names the components a process of role reports. A
// mixcoord reports Milvus 2.6's three coordinators (its index
// coordinator's work is datacoord's in Milvus 2.6).
func componentsOf(role string) []string {
	if role == session.RoleMixCoord {
		return []string{sysinfo.RoleRootCoord, sysinfo.RoleDataCoord, sysinfo.RoleQueryCoord}
	}
	return []string{role}
}

// componentConfigs are a component's system_configurations, with the keys
// of Milvus's type for the role (values: Milvus's defaults, the bucket
// from the configuration).
func componentConfigs(role, bucket string) map[string]any {
	switch role {
	case sysinfo.RoleProxy:
		return map[string]any{"default_partition_name": "_default", "default_index_name": "_default_idx"}
	case sysinfo.RoleRootCoord:
		return map[string]any{"min_segment_size_to_enable_index": 1024}
	case sysinfo.RoleDataCoord:
		return map[string]any{"segment_max_size": 1024}
	case sysinfo.RoleQueryCoord:
		return map[string]any{"search_channel_prefix": "", "search_result_channel_prefix": ""}
	case sysinfo.RoleDataNode:
		return map[string]any{"minio_bucket_name": bucket, "simd_type": "auto", "flush_insert_buffer_size": 16 << 20}
	case sysinfo.RoleQueryNode:
		return map[string]any{"simd_type": "auto"}
	}
	return map[string]any{}
}

// localInfos are the infos of the components of a process, with its
// hardware read once.
func localInfos(role string, id int64, addr, bucket, diskPath, mode string) []sysinfo.ComponentInfos {
	return componentInfos(componentsOf(role), id, addr, bucket, mode, sysinfo.Hardware(addr, diskPath))
}

// componentInfos are the infos of roles in one process whose hardware is hw.
func componentInfos(roles []string, id int64, addr, bucket, mode string, hw sysinfo.HardwareMetrics) []sysinfo.ComponentInfos {
	b := sysinfo.Build{Version: rpc.Version, DeployMode: mode}
	out := make([]sysinfo.ComponentInfos, 0, len(roles))
	for _, c := range roles {
		out = append(out, sysinfo.Local(sysinfo.Component{Role: c, ID: id, Address: addr, Created: processStart,
			Configs: componentConfigs(c, bucket)}, b, hw))
	}
	return out
}

// growingSource is a query node's growing segments (querynode.Server).
type growingSource interface {
	GrowingBytes() (bytes int64, collections []int64)
}

// withQuotaMetrics fills the query node components' quota metrics from
// the process's query node (q nil: this process has none), as Milvus's
// query node reports its QueryNodeQuotaMetrics in GetMetrics.
func withQuotaMetrics(infos []sysinfo.ComponentInfos, q growingSource) []sysinfo.ComponentInfos {
	if q == nil {
		return infos
	}
	for i := range infos {
		if infos[i].Type != sysinfo.RoleQueryNode || infos[i].HasError {
			continue
		}
		bytes, colls := q.GrowingBytes()
		infos[i].QuotaMetrics = &sysinfo.QueryNodeQuotaMetrics{Hms: infos[i].HardwareInfos, GrowingSegmentsSize: bytes,
			Effect: sysinfo.NodeEffect{NodeID: infos[i].ID, CollectionIDs: colls}}
	}
	return infos
}

// nodeInfoServer is the Node service of a role process.
type nodeInfoServer struct {
	pb.UnimplementedNodeServer
	infos func() []sysinfo.ComponentInfos
}

func (s nodeInfoServer) GetComponentInfos(context.Context, *pb.ComponentInfosRequest) (*pb.ComponentInfosResponse, error) {
	resp := &pb.ComponentInfosResponse{Status: coordrpc.Empty(nil).GetStatus()}
	for _, c := range s.infos() {
		b, err := json.Marshal(c)
		if err != nil {
			return &pb.ComponentInfosResponse{Status: rpc.StatusOf(err)}, nil
		}
		resp.Infos = append(resp.Infos, string(b))
	}
	return resp, nil
}

// standaloneSystemInfo describes a standalone process: every component in
// it, under the process's server ID, as Milvus standalone reports.
type standaloneSystemInfo struct {
	id       int64
	addr     string
	diskPath string
	// query is the process's query node (nil: no quota metrics).
	query growingSource
	// proxy lists the proxy among the components (the quota center's
	// sample; GetMetrics reports it as Self).
	proxy bool
}

func (s standaloneSystemInfo) Self(context.Context) sysinfo.ComponentInfos {
	return s.infos([]string{sysinfo.RoleProxy})[0]
}

// standaloneRoles are the components of a standalone process, in
// GetComponentInfos's order.
var standaloneRoles = []string{sysinfo.RoleRootCoord, sysinfo.RoleDataCoord, sysinfo.RoleDataNode,
	sysinfo.RoleQueryCoord, sysinfo.RoleQueryNode, sysinfo.RoleStreamingNode}

func (s standaloneSystemInfo) Components(context.Context) ([]sysinfo.ComponentInfos, error) {
	roles := standaloneRoles
	if s.proxy {
		roles = append([]string{sysinfo.RoleProxy}, roles...)
	}
	return s.infos(roles), nil
}

// infos are the infos of roles, this process's hardware read once (the
// quota center samples them every few seconds: seven reads of /proc each
// time were a tenth of an idle server's CPU).
func (s standaloneSystemInfo) infos(roles []string) []sysinfo.ComponentInfos {
	hw := sysinfo.Hardware(s.addr, s.diskPath)
	return withQuotaMetrics(componentInfos(roles, s.id, s.addr, "", sysinfo.StandaloneDeployMode, hw), s.query)
}

// systemRoles are the roles whose sessions a cluster proxy asks.
var systemRoles = []string{session.RoleMixCoord, session.RoleRootCoord, session.RoleDataCoord, session.RoleQueryCoord,
	session.RoleIndexCoord, session.RoleDataNode, session.RoleQueryNode, session.RoleIndexNode, session.RoleStreamingNode}

// nodeInfoTimeout bounds the wait for one process's infos.
const nodeInfoTimeout = 3 * time.Second

// clusterSystemInfo gathers a cluster's components through the sessions:
// every live process (coordinators: the active one) is asked for its
// infos; one that does not answer is reported with has_error.
type clusterSystemInfo struct {
	meta kv.Store
	// roles are the roles whose sessions it asks (nil: systemRoles).
	roles  []string
	self   func() sysinfo.ComponentInfos
	logger *slog.Logger

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (c *clusterSystemInfo) Self(context.Context) sysinfo.ComponentInfos { return c.self() }

func (c *clusterSystemInfo) client(addr string) (pb.NodeClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.conns[addr]; ok {
		return pb.NewNodeClient(cc), nil
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.conns[addr] = cc
	return pb.NewNodeClient(cc), nil
}

func (c *clusterSystemInfo) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.conns {
		cc.Close()
	}
	c.conns = map[string]*grpc.ClientConn{}
}

func (c *clusterSystemInfo) Components(ctx context.Context) ([]sysinfo.ComponentInfos, error) {
	var procs []session.Info
	roles := c.roles
	if roles == nil {
		roles = systemRoles
	}
	for _, role := range roles {
		ms, _, err := session.List(ctx, c.meta, role)
		if err != nil {
			return nil, fmt.Errorf("list %s sessions: %w", role, err)
		}
		for _, m := range ms {
			if m.Standby && !m.Active {
				continue // a standby coordinator serves nothing
			}
			procs = append(procs, m)
		}
	}
	results := make([][]sysinfo.ComponentInfos, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.ask(ctx, p)
		}()
	}
	wg.Wait()
	return slices.Concat(results...), nil
}

// ask returns a process's component infos, or its components marked
// unreachable.
func (c *clusterSystemInfo) ask(ctx context.Context, p session.Info) []sysinfo.ComponentInfos {
	fail := func(err error) []sysinfo.ComponentInfos {
		c.logger.Warn("component infos", "role", p.Role, "id", p.ServerID, "address", p.Address, "err", err)
		var out []sysinfo.ComponentInfos
		for _, r := range componentsOf(p.Role) {
			out = append(out, sysinfo.Unreachable(r, p.ServerID, p.Address, err))
		}
		return out
	}
	cli, err := c.client(p.Address)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, nodeInfoTimeout)
	defer cancel()
	r, err := cli.GetComponentInfos(ctx, &pb.ComponentInfosRequest{})
	if err := coordrpc.Check(p.Role, r, err); err != nil {
		return fail(err)
	}
	out := make([]sysinfo.ComponentInfos, 0, len(r.GetInfos()))
	for _, s := range r.GetInfos() {
		var ci sysinfo.ComponentInfos
		if err := json.Unmarshal([]byte(s), &ci); err != nil {
			return fail(fmt.Errorf("decode infos: %w", err))
		}
		out = append(out, ci)
	}
	return out
}

// hostIP is this host's first non-loopback IPv4 address (Milvus's default
// advertised IP), else 127.0.0.1.
func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return "127.0.0.1"
}
