package framed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// maxIdle is how many idle connections a Client keeps.
const maxIdle = 16

// Client calls one server over a pool of framed connections, one call at
// a time on each.
type Client struct {
	addr   string
	target int64

	mu     sync.Mutex
	idle   []*clientConn
	closed bool
}

type clientConn struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte // request and answer frames
}

// NewClient calls the server at addr, addressing every call to server ID
// target (0: any).
func NewClient(addr string, target int64) *Client {
	return &Client{addr: addr, target: target}
}

// ErrClosed is the failure of a call on a closed Client.
var ErrClosed = errors.New("framed: client closed")

// Call sends payload with caller as the caller's server ID and returns
// the answer's payload. A failed call returns ctx's error if ctx ended,
// else the connection's failure. The call must be idempotent: when a
// connection taken from the pool fails, it is sent once more on a new one
// (the pooled one may have outlived its server).
func (c *Client) Call(ctx context.Context, caller int64, payload []byte) ([]byte, error) {
	h := Header{Target: c.target, Caller: caller}
	if d, ok := ctx.Deadline(); ok {
		h.Deadline = d.UnixNano()
	}
	cc, pooled, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	ans, err := c.roundTrip(ctx, cc, h, payload)
	if err != nil && pooled && ctx.Err() == nil {
		if cc, err = c.dial(ctx); err != nil {
			return nil, err
		}
		ans, err = c.roundTrip(ctx, cc, h, payload)
	}
	return ans, err
}

// roundTrip sends one request on cc and reads its answer; cc goes back to
// the pool after a successful call and is closed after a failed one.
func (c *Client) roundTrip(ctx context.Context, cc *clientConn, h Header, payload []byte) ([]byte, error) {
	d, _ := ctx.Deadline()
	_ = cc.c.SetDeadline(d) // zero: none
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = cc.c.SetDeadline(time.Unix(1, 0)) })
	}
	cc.buf = appendRequest(cc.buf[:0], h, payload)
	_, err := cc.c.Write(cc.buf)
	if err == nil {
		cc.buf, err = readFrame(cc.r, cc.buf)
	}
	if !stop() || err != nil {
		// ctx ended during the call (its deadline poisoned the
		// connection's) or the connection failed: not reusable.
		cc.c.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && h.Deadline != 0 && time.Now().UnixNano() >= h.Deadline {
			return nil, context.DeadlineExceeded // the connection's deadline fired before ctx's timer
		}
		return nil, fmt.Errorf("framed: call %s: %w", c.addr, err)
	}
	ans := append([]byte(nil), cc.buf...)
	c.put(cc)
	return ans, nil
}

// get takes an idle connection (pooled: true) or dials a new one.
func (c *Client) get(ctx context.Context) (*clientConn, bool, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		cc := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cc, true, nil
	}
	c.mu.Unlock()
	cc, err := c.dial(ctx)
	return cc, false, err
}

func (c *Client) dial(ctx context.Context) (*clientConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("framed: dial %s: %w", c.addr, err)
	}
	if _, err := conn.Write([]byte(Magic)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("framed: dial %s: %w", c.addr, err)
	}
	return &clientConn{c: conn, r: bufio.NewReaderSize(conn, 32<<10)}, nil
}

func (c *Client) put(cc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.idle) >= maxIdle {
		cc.c.Close()
		return
	}
	c.idle = append(c.idle, cc)
}

// Close closes the idle connections; calls under way close theirs when
// they end, and later calls fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, cc := range c.idle {
		cc.c.Close()
	}
	c.idle = nil
	return nil
}
