//go:build linux

package rpc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/framed"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// The floor of the cluster's network hop (docs/benchmarks.md, "hop8"):
// what one round trip of the proxy → query node search call costs in
// grpc-go on this machine, with the messages of the hop bench
// (tests/cluster TestHopLatency: nq=1, dim 128, k=10: a 0.6 KB request and
// a 0.2 KB answer) and the options of Milvago's internal connections
// (static flow-control windows, stream workers), against the same bytes
// as length-prefixed frames over a plain TCP connection. The query node's
// handler answers at once, so what is measured is the transport alone:
//
//	go test ./internal/rpc -run '^$' -bench 'HopFloor' -benchtime 20000x -count 3
//
// Besides ns/op each reports the median round trip (p50-µs), the CPU time
// of this process (cpu-µs/op: client and server together when the server
// runs in it) and its read and write system calls (syscalls/op), and
// those of the server process when it has its own, as the hop bench does
// for the proxy and the query node.

// hopRequest is a search sub-request of the hop bench's size.
func hopRequest() *pb.SearchRequest {
	q := make([]float32, 128)
	for i := range q {
		q[i] = float32(i) / 128
	}
	return &pb.SearchRequest{CollectionId: 464346237463453, Vchannel: "by-dev-rootcoord-dml_0_464346237463453v0",
		GuaranteeTs: 464346300000000000, OutputFields: []int64{100},
		Search: &pb.VectorSearch{FieldId: 101, Queries: &pb.Vectors{Dim: 128, Float: q}, Metric: "L2", K: 10,
			Params: map[string]string{"ef": "64"}, IndexType: "HNSW"},
		MaxHits: 16384, MaxOutputSize: 104857600}
}

// hopResult is a shard's answer of the hop bench's size: 10 hits.
func hopResult() *pb.SearchResult {
	r := &pb.SearchResult{Nq: 1, Topks: []int64{10}, Status: rpc.StatusOf(nil), MvccTs: 464346300000000000}
	for i := range 10 {
		r.IntPks = append(r.IntPks, int64(4000+i))
		r.Scores = append(r.Scores, float32(i)*0.01)
	}
	return r
}

// echoNode is a query node whose search answers at once.
type echoNode struct {
	pb.UnimplementedQueryNodeServer
	res *pb.SearchResult
}

func (n echoNode) Search(context.Context, *pb.SearchRequest) (*pb.SearchResult, error) {
	return n.res, nil
}

// TestMain serves one of the floor benchmarks' servers instead of running
// the tests when the benchmark started this binary as its server process
// (MILVAGO_HOPFLOOR_SERVE=grpc|framed|tcp): it prints the address it listens on
// and serves until its standard input closes.
func TestMain(m *testing.M) {
	kind := os.Getenv(serveEnv)
	if kind == "" {
		os.Exit(m.Run())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop, err := serveFloor(kind, l)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	os.Exit(0)
}

const serveEnv = "MILVAGO_HOPFLOOR_SERVE"

// serveFloor serves the hop's search on l: over grpc-go ("grpc"),
// internal/rpc/framed ("framed") or bare length-prefixed frames ("tcp").
func serveFloor(kind string, l net.Listener) (stop func(), err error) {
	switch kind {
	case "grpc":
		g := grpc.NewServer(append(rpc.FlowControlServerOptions(), rpc.StreamWorkers())...)
		pb.RegisterQueryNodeServer(g, echoNode{res: hopResult()})
		go g.Serve(l)
		return g.Stop, nil
	case "tcp":
		ans, err := proto.Marshal(hopResult())
		if err != nil {
			return nil, err
		}
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				go serveFrames(conn, ans)
			}
		}()
		return func() { l.Close() }, nil
	case "framed":
		ans, err := proto.Marshal(hopResult())
		if err != nil {
			return nil, err
		}
		fl := framed.Split(l, func(_ context.Context, _ framed.Header, payload []byte) []byte {
			var req pb.SearchRequest
			if err := proto.Unmarshal(payload, &req); err != nil {
				return nil
			}
			return ans
		}, slog.New(slog.DiscardHandler))
		return func() { fl.Close(); fl.Wait() }, nil
	}
	return nil, fmt.Errorf("no floor server %q", kind)
}

// serveFrames answers every request frame on conn with ans, on the
// connection's own goroutine.
func serveFrames(conn net.Conn, ans []byte) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 32<<10)
	out := binary.BigEndian.AppendUint32(nil, uint32(len(ans)))
	out = append(out, ans...)
	buf := make([]byte, 64<<10)
	for {
		n, err := readFrame(r, buf)
		if err != nil {
			return
		}
		var req pb.SearchRequest
		if err := proto.Unmarshal(buf[:n], &req); err != nil {
			return
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// readFrame reads one length-prefixed frame into buf.
func readFrame(r *bufio.Reader, buf []byte) (int, error) {
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(buf[:4]))
	if n > len(buf) {
		return 0, fmt.Errorf("frame of %d bytes", n)
	}
	_, err := io.ReadFull(r, buf[:n])
	return n, err
}

// dialFloor returns one round trip to the server at addr.
func dialFloor(b *testing.B, kind, addr string) func() error {
	req := hopRequest()
	switch kind {
	case "grpc":
		cc, err := grpc.NewClient(addr, append(rpc.FlowControlDialOptions(),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cc.Close() })
		c := pb.NewQueryNodeClient(cc)
		return func() error {
			r, err := c.Search(context.Background(), req)
			if err == nil && len(r.GetIntPks()) != 10 {
				err = fmt.Errorf("%d hits", len(r.GetIntPks()))
			}
			return err
		}
	case "tcp":
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		rd := bufio.NewReaderSize(conn, 32<<10)
		in := make([]byte, 64<<10)
		return func() error {
			msg, err := proto.Marshal(req)
			if err != nil {
				return err
			}
			frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg)))
			if _, err := conn.Write(append(frame, msg...)); err != nil {
				return err
			}
			n, err := readFrame(rd, in)
			if err != nil {
				return err
			}
			var r pb.SearchResult
			if err := proto.Unmarshal(in[:n], &r); err != nil {
				return err
			}
			if len(r.GetIntPks()) != 10 {
				return fmt.Errorf("%d hits", len(r.GetIntPks()))
			}
			return nil
		}
	case "framed":
		c := framed.NewClient(addr, 0)
		b.Cleanup(func() { c.Close() })
		return func() error {
			msg, err := proto.Marshal(req)
			if err != nil {
				return err
			}
			ans, err := c.Call(context.Background(), 0, msg)
			if err != nil {
				return err
			}
			var r pb.SearchResult
			if err := proto.Unmarshal(ans, &r); err != nil {
				return err
			}
			if len(r.GetIntPks()) != 10 {
				return fmt.Errorf("%d hits", len(r.GetIntPks()))
			}
			return nil
		}
	}
	b.Fatalf("no floor client %q", kind)
	return nil
}

// startFloorServer runs this test binary as a server process of kind and
// returns its address and process ID.
func startFloorServer(b *testing.B, kind string) (string, int) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"="+kind)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("floor server: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// BenchmarkHopFloor is one round trip per op, over grpc-go with the
// options of Milvago's internal servers and connections, over
// internal/rpc/framed (the proxy's searches since "hop8"), or as bare
// length-prefixed frames over plain TCP (the server answering on the
// connection's goroutine: the floor of a round trip through the kernel's
// loopback and Go's netpoller), the server in this process ("inproc") or
// in a process of its own ("procs", as the proxy and the query node are).
func BenchmarkHopFloor(b *testing.B) {
	for _, kind := range []string{"grpc", "framed", "tcp"} {
		for _, where := range []string{"inproc", "procs"} {
			b.Run(kind+"/"+where, func(b *testing.B) {
				var addr string
				pid := 0
				if where == "procs" {
					addr, pid = startFloorServer(b, kind)
				} else {
					l, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						b.Fatal(err)
					}
					stop, err := serveFloor(kind, l)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(stop)
					addr = l.Addr().String()
				}
				call := dialFloor(b, kind, addr)
				for range 1000 { // connection up, stacks grown
					if err := call(); err != nil {
						b.Fatal(err)
					}
				}
				lat := make([]time.Duration, 0, b.N)
				cpu0, sc0 := processCPU(b, 0), processSyscalls(b, 0)
				scpu0, ssc0 := processCPU(b, pid), processSyscalls(b, pid)
				for b.Loop() {
					t := time.Now()
					err := call()
					lat = append(lat, time.Since(t))
					if err != nil {
						b.Fatal(err)
					}
				}
				n := float64(b.N)
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
				b.ReportMetric((processCPU(b, 0)-cpu0)*1e6/n, "cpu-µs/op")
				b.ReportMetric((processSyscalls(b, 0)-sc0)/n, "syscalls/op")
				if pid != 0 {
					b.ReportMetric((processCPU(b, pid)-scpu0)*1e6/n, "server-cpu-µs/op")
					b.ReportMetric((processSyscalls(b, pid)-ssc0)/n, "server-syscalls/op")
				}
			})
		}
	}
}

// processCPU is the user and system CPU time in seconds of process pid (0:
// this one), from /proc/PID/stat.
func processCPU(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command's closing parenthesis: state is the 3rd
	// field of the line, utime and stime the 14th and 15th.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		b.Fatalf("short %s", procPath(pid, "stat"))
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTicks = 100

// processSyscalls is the read and write system calls so far of process
// pid (0: this one): syscr + syscw of /proc/PID/io.
func processSyscalls(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(procPath(pid, "io"))
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		if k == "syscr" || k == "syscw" {
			x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			n += x
		}
	}
	return n
}

func procPath(pid int, file string) string {
	if pid == 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}
