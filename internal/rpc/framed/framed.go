// Package framed carries one kind of call, the proxy's search of a shard
// on a query node, over plain TCP connections as length-prefixed frames,
// beside gRPC on the query node's port.
//
// Why: a gRPC unary call hands each message between goroutines on both
// sides (the client's reader goroutine to the caller; the server's reader
// to a stream worker, the worker to the loopy writer), and between two
// otherwise idle processes each hand-off wakes a thread. Measured on the
// 2-core machine of docs/benchmarks.md ("hop8": BenchmarkHopFloor in
// internal/rpc), a round trip of the search's messages between two
// processes took 120 µs at p50 and 160 µs of CPU over grpc-go, 36 µs and
// 50 µs as frames over TCP. Here the caller writes its request and reads
// the answer on its own goroutine, and the server answers on the
// connection's goroutine: the only wake-ups are the netpoller's.
//
// A connection starts with Magic; then, one call at a time, the client
// sends a request frame and the server answers with one answer frame:
//
//	request: u32 length of the rest | u64 deadline (Unix ns, 0: none) |
//	         i64 target server ID (0: any) | i64 caller server ID (0: none) | payload
//	answer:  u32 length | payload
//
// The payloads are the caller's (protobuf messages); a failure the server
// reports travels inside the answer's payload, so a failed frame means a
// failed connection. Connections are plain TCP, like Milvago's internal
// gRPC connections.
//
// A client sends nothing while its call runs; a client whose call ends
// early (its context) closes the connection. The server cancels the
// context of a call whose connection closes, as gRPC cancels a call whose
// stream ends: the connection of a call found running at two sweeps in a
// row (sweepEvery) is read until the call returns (watch.go).
package framed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic opens every framed connection; it cannot start an HTTP/2 (gRPC)
// connection, whose preface is "PRI * HTTP/2.0...".
const Magic = "MVGFRM1\n"

// MaxFrame bounds a frame's length, as the internal gRPC servers bound a
// message (256 MiB).
const MaxFrame = 256 << 20

// Header is what a request frame says besides its payload.
type Header struct {
	Deadline int64 // Unix nanoseconds; 0: none
	Target   int64 // the server ID the caller means (fencing); 0: any
	Caller   int64 // the caller's server ID; 0: none
}

const headerLen = 24

// appendRequest appends a request frame to dst.
func appendRequest(dst []byte, h Header, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(headerLen+len(payload)))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Deadline))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Target))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Caller))
	return append(dst, payload...)
}

// appendAnswer appends an answer frame to dst.
func appendAnswer(dst []byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// readFrame reads one frame's body (after its length) into buf, growing it.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return buf, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > MaxFrame {
		return buf, fmt.Errorf("framed: frame of %d bytes, more than %d", n, MaxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	return buf, nil
}

// parseRequest splits a request frame's body.
func parseRequest(body []byte) (Header, []byte, error) {
	if len(body) < headerLen {
		return Header{}, nil, fmt.Errorf("framed: request of %d bytes, shorter than its header", len(body))
	}
	return Header{
		Deadline: int64(binary.BigEndian.Uint64(body[0:8])),
		Target:   int64(binary.BigEndian.Uint64(body[8:16])),
		Caller:   int64(binary.BigEndian.Uint64(body[16:24])),
	}, body[headerLen:], nil
}
