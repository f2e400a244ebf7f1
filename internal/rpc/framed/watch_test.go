package framed

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"testing"
	"time"
)

// A request that arrives while a watched call runs (a client that
// pipelines, which Client does not) is served after it intact: the byte
// the watch read is put back.
func TestRequestDuringAWatchedCall(t *testing.T) {
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	watchedSeen := make(chan bool, 2)
	started := make(chan struct{}, 1)
	var l *Listener
	l = Split(root, func(ctx context.Context, h Header, payload []byte) []byte {
		if string(payload) == "slow" {
			started <- struct{}{}
			time.Sleep(3 * sweepEvery) // two sweeps: the connection is read
			st := uint64(idle)
			l.watches.Range(func(k, _ any) bool { st = k.(*watch).state.Load() & stateMask; return false })
			watchedSeen <- st == watched
		}
		if ctx.Err() != nil {
			return []byte("canceled")
		}
		return payload
	}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { l.Close(); l.Wait() })

	conn, err := net.Dial("tcp", root.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := conn.Write(append([]byte(Magic), appendRequest(nil, Header{}, []byte("slow"))...)); err != nil {
		t.Fatal(err)
	}
	<-started // the next request is not yet buffered when the slow call starts
	if _, err := conn.Write(appendRequest(nil, Header{}, []byte("next"))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"slow", "next"} {
		got, err := readFrame(r, nil)
		if err != nil || string(got) != want {
			t.Fatalf("answer %q, %v; want %q", got, err, want)
		}
	}
	if !<-watchedSeen {
		t.Fatal("the slow call's connection was not watched")
	}
}
