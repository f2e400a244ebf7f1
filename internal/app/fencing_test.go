package app

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kvtest"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/sysinfo"
)

// TestFencedCommands: a worker obeys the active coordinator, refuses the
// commands of one that lost its election (an older term), and refuses a
// call addressed to another server ID; refusals reach the caller with
// their Milvus code.
func TestFencedCommands(t *testing.T) {
	ctx := t.Context()
	e := kvtest.StartEmbedded(t)
	store := e.NewStore("fence")
	t.Cleanup(func() { store.Close() })
	reg := func(role string) *session.Session {
		s, err := session.Register(ctx, store, session.Config{Role: role, Address: "x:1", TTL: 4 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// The worker: a Node service behind the fence.
	worker := &fence{role: session.RoleQueryNode}
	wsess := reg(session.RoleQueryNode)
	worker.sess.Store(wsess)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(worker.server))
	pb.RegisterNodeServer(srv, nodeInfoServer{infos: func() []sysinfo.ComponentInfos { return nil }})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	call := func(f *fence, target int64) error {
		t.Helper()
		ics := []grpc.UnaryClientInterceptor{f.client}
		if target != 0 {
			ics = append(ics, targeting(target))
		}
		cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithChainUnaryInterceptor(ics...))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		r, err := pb.NewNodeClient(cc).GetComponentInfos(ctx, &pb.ComponentInfosRequest{})
		return coordrpc.Check("querynode", r, err)
	}

	// Coordinator A leads.
	a := &fence{role: session.RoleQueryCoord}
	asess := reg(session.RoleQueryCoord)
	a.sess.Store(asess)
	la, err := asess.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.lead.Store(la)
	if err := call(a, wsess.ID()); err != nil {
		t.Fatalf("the leader's command: %v", err)
	}
	// A resigns (as if deposed); B wins with a newer term and commands.
	if err := la.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	b := &fence{role: session.RoleQueryCoord}
	bsess := reg(session.RoleQueryCoord)
	b.sess.Store(bsess)
	lb, err := bsess.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.lead.Store(lb)
	if err := call(b, wsess.ID()); err != nil {
		t.Fatalf("the new leader's command: %v", err)
	}
	// A, not knowing, commands again: refused.
	err = call(a, wsess.ID())
	if !errors.Is(err, errs.ErrNodeNotMatch) {
		t.Fatalf("a deposed coordinator's command: %v, want node not match", err)
	}
	// A call meant for another server ID: refused.
	if err := call(b, wsess.ID()+100); !errors.Is(err, errs.ErrNodeNotMatch) {
		t.Fatalf("a command for another node: %v", err)
	}
	// A client whose own session is over sends nothing.
	if err := bsess.Close(); err != nil {
		t.Fatal(err)
	}
	if err := call(b, wsess.ID()); !errors.Is(err, errs.ErrNodeOffline) {
		t.Fatalf("a call from a closed session: %v", err)
	}
}

// TestQueryNodeAnswersOnlyWhileFresh (issue 8): a query node that admitted
// a call while its session was fresh, and whose session ended while it
// served it (the process stopped or cut off mid-search: its shards moved,
// what it read is stale), refuses to answer (node offline), so the proxy
// retries on the shard's current leader. A data node's answer, to a
// command already done, is returned as before.
func TestQueryNodeAnswersOnlyWhileFresh(t *testing.T) {
	ctx := t.Context()
	e := kvtest.StartEmbedded(t)
	store := e.NewStore("answer")
	t.Cleanup(func() { store.Close() })
	for _, tc := range []struct {
		role    string
		refused bool
	}{{session.RoleQueryNode, true}, {session.RoleDataNode, false}} {
		s, err := session.Register(ctx, store, session.Config{Role: tc.role, Address: "x:1", TTL: 4 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f := &fence{role: tc.role}
		f.sess.Store(s)
		var lose atomic.Bool
		srv := grpc.NewServer(grpc.ChainUnaryInterceptor(f.server))
		pb.RegisterNodeServer(srv, nodeInfoServer{infos: func() []sysinfo.ComponentInfos {
			if lose.Load() {
				s.Close() // the session ends while the call is served
			}
			return nil
		}})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		t.Cleanup(srv.Stop)
		cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		call := func() error {
			r, err := pb.NewNodeClient(cc).GetComponentInfos(ctx, &pb.ComponentInfosRequest{})
			return coordrpc.Check(tc.role, r, err)
		}
		if err := call(); err != nil {
			t.Fatalf("%s: a call served while fresh: %v", tc.role, err)
		}
		lose.Store(true)
		err = call()
		if tc.refused && !errors.Is(err, errs.ErrNodeOffline) {
			t.Fatalf("%s: a call whose session ended while served: %v, want node offline", tc.role, err)
		}
		if !tc.refused && err != nil {
			t.Fatalf("%s: a call whose session ended while served: %v, want its answer", tc.role, err)
		}
	}
}

// TestAnswerErr: the error a served call answers is the handler's, or the
// Milvus status its response carries, with its code.
func TestAnswerErr(t *testing.T) {
	refused := errs.ChannelMisrouted("ch", 1, 2)
	if err := answerErr(&pb.Empty{Status: rpc.StatusOf(refused)}, nil); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("refusal in the response: %v", err)
	}
	if err := answerErr(&pb.Empty{Status: rpc.StatusOf(nil)}, nil); err != nil {
		t.Fatalf("success: %v", err)
	}
	if err := answerErr(nil, refused); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("handler error: %v", err)
	}
}
