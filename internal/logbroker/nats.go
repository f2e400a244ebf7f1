package logbroker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultStreamPrefix is NATSConfig.StreamPrefix when left empty.
const DefaultStreamPrefix = "MILVAGO"

// NATSConfig configures a NATS JetStream log.
type NATSConfig struct {
	// URL is the NATS server to connect to ("nats://host:4222", a
	// comma-separated list for a cluster). Ignored by StartEmbedded.
	URL string
	// StreamPrefix names the JetStream stream (<prefix>_LOG) and prefixes
	// its subjects (<prefix>.log.<channel>, <prefix>.trunc.<channel>), so
	// that several Milvago instances can share one NATS account.
	// Letters, digits, '-' and '_' only. Empty means DefaultStreamPrefix.
	StreamPrefix string
	// Replicas is the stream's replication factor (1, 3 or 5; a cluster
	// of at least that many JetStream servers is needed). 0 means 1.
	Replicas int
	// Options are extra client options for NewNATS: credentials, TLS,
	// reconnect policy. Ignored by StartEmbedded.
	Options []nats.Option
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports a configuration error.
func (c NATSConfig) Validate() error {
	if c.StreamPrefix != "" && !prefixRE.MatchString(c.StreamPrefix) {
		return fmt.Errorf("logbroker: stream prefix %q: only letters, digits, '-' and '_' allowed", c.StreamPrefix)
	}
	switch c.Replicas {
	case 0, 1, 3, 5:
	default:
		return fmt.Errorf("logbroker: %d replicas: want 1, 3 or 5", c.Replicas)
	}
	return nil
}

func (c NATSConfig) withDefaults() NATSConfig {
	if c.StreamPrefix == "" {
		c.StreamPrefix = DefaultStreamPrefix
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c
}

// NATS is a Log over NATS JetStream: one stream, one subject per channel.
// See the package documentation for the mapping and its guarantees.
type NATS struct {
	nc         *nats.Conn
	dial       func() (*nats.Conn, error) // a reader's own connection to the same server
	js         jetstream.JetStream
	stream     jetstream.Stream
	name       string // stream name
	prefix     string // subject prefix
	maxPayload int    // the server's max_payload: headers + payload
	logger     *slog.Logger
	// writeErr, set for an embedded server, holds while its store has
	// failed a write (a full disk) and is not reopened yet: appends are
	// refused at once (ErrFull) rather than dropped by the stream unanswered.
	writeErr *storeFault
	// streamDir is the embedded server's store of the stream ("" for
	// another server): whether it exists tells a removed store from a
	// stream the server did not recover (streamGone).
	streamDir string
	// tail, set for an embedded server, serves readers the messages just
	// appended from memory (tail.go).
	tail *localTail

	mu      sync.Mutex           // guards trunc, readers and closed
	trunc   map[string]MessageID // truncation points seen by this value
	readers map[*natsReader]struct{}
	closed  bool
}

var (
	_ Log     = (*NATS)(nil)
	_ Fencing = (*NATS)(nil)
)

// NewNATS connects to the NATS server at cfg.URL and creates or updates the
// log's stream. A nil logger discards.
func NewNATS(ctx context.Context, cfg NATSConfig, logger *slog.Logger) (*NATS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		return nil, errors.New("logbroker: nats: empty URL")
	}
	opts := append([]nats.Option{nats.Name("milvago"), nats.MaxReconnects(-1)}, cfg.Options...)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("logbroker: connect to nats %s: %w", cfg.URL, err)
	}
	readerOpts := append([]nats.Option{nats.Name("milvago-reader"), nats.MaxReconnects(-1)}, cfg.Options...)
	dial := func() (*nats.Conn, error) { return nats.Connect(cfg.URL, readerOpts...) }
	return newNATS(ctx, nc, dial, cfg, logger)
}

// newNATS sets up the log's stream over nc and takes ownership of nc: it
// is closed on error or by Close. dial opens a reader's own connection to
// the same server (see Read).
func newNATS(ctx context.Context, nc *nats.Conn, dial func() (*nats.Conn, error), cfg NATSConfig, logger *slog.Logger) (*NATS, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("logbroker: jetstream: %w", err)
	}
	n := &NATS{
		nc:         nc,
		dial:       dial,
		js:         js,
		name:       cfg.StreamPrefix + "_LOG",
		prefix:     cfg.StreamPrefix,
		maxPayload: int(nc.MaxPayload()),
		logger:     logger.With("component", "logbroker", "stream", cfg.StreamPrefix+"_LOG"),
		trunc:      make(map[string]MessageID),
		readers:    make(map[*natsReader]struct{}),
	}
	if n.maxPayload <= propsReserve {
		nc.Close()
		return nil, fmt.Errorf("logbroker: nats max_payload %d is too small", n.maxPayload)
	}
	streamConfig := jetstream.StreamConfig{
		Name:        n.name,
		Description: "Milvago log: one subject per channel",
		Subjects:    []string{n.prefix + ".log.>", n.prefix + ".trunc.>"},
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxAge:      0,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Discard:     jetstream.DiscardOld,
		// Latest and truncation points must see every acknowledged
		// append; direct gets may be served by a lagging replica.
		AllowDirect: false,
	}
	// Idempotent, so retried while a cluster that just started (or lost
	// a server) has no meta leader yet; for at most 30 s, since a server
	// without JetStream answers the same way (no responders).
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = retryAPI(cctx, nil, func(ctx context.Context) error {
		var err error
		n.stream, err = js.CreateOrUpdateStream(ctx, streamConfig)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("logbroker: create stream %s: %w", n.name, err)
	}
	n.logger.Debug("log ready", "max_payload", n.maxPayload, "replicas", cfg.Replicas)
	return n, nil
}

// channelToken maps a channel name to one subject token. Names made of
// letters, digits, '-' and '_' (Milvus's channel names) are used as they
// are; anything else becomes "~" + base64url, which cannot collide since
// '~' is not in that set.
func channelToken(channel string) string {
	for i := 0; i < len(channel); i++ {
		c := channel[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "~" + base64.RawURLEncoding.EncodeToString([]byte(channel))
		}
	}
	return channel
}

func (n *NATS) dataSubject(channel string) string { return n.prefix + ".log." + channelToken(channel) }
func (n *NATS) truncSubject(channel string) string {
	return n.prefix + ".trunc." + channelToken(channel)
}

func (n *NATS) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// mapErr turns client errors into the contract's errors.
func (n *NATS) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case n.isClosed(), errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, jetstream.ErrConnectionClosed):
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w (%w)", ErrTooLarge, err)
	case isStoreFull(err):
		n.writeErr.Refused() // the embedded server's limit follows its disk
		return fmt.Errorf("%w (%w)", ErrFull, err)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return n.streamGone(err)
	}
	return err
}

// streamGone describes a "stream not found" that no reopen of the
// embedded server's JetStream explains (retryAPI rides those out): the
// stream was deleted, or the embedded server's store of it removed.
func (n *NATS) streamGone(err error) error {
	if n.streamDir == "" {
		return fmt.Errorf("the log's stream %s does not exist (deleted?): %w", n.name, err)
	}
	if _, serr := os.Stat(n.streamDir); errors.Is(serr, fs.ErrNotExist) {
		return fmt.Errorf("the log's stream %s is gone: its store %s does not exist (removed?): %w", n.name, n.streamDir, err)
	}
	return fmt.Errorf("the log's stream %s is not served though its store %s is there (not recovered: see the server's log): %w", n.name, n.streamDir, err)
}

// JetStream's codes for a store with no room: JSInsufficientResourcesErr
// (its store limit reached) and JSStorageResourcesExceededErr (the
// account's storage limit); nats.go has no constants for them.
const (
	errCodeInsufficientResources    jetstream.ErrorCode = 10023
	errCodeStorageResourcesExceeded jetstream.ErrorCode = 10047
)

func isStoreFull(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeInsufficientResources || apiErr.ErrorCode == errCodeStorageResourcesExceeded)
}

// Append implements Log. It returns once the stream leader has stored the
// message (and, with replicas, a quorum has it): that is JetStream's
// publish acknowledgement. If Append fails with a timeout the message may
// still have been stored.
func (n *NATS) Append(ctx context.Context, channel string, payload []byte, props map[string]string) (MessageID, error) {
	msg, err := n.message(channel, payload, props)
	if err != nil {
		return 0, err
	}
	pctx, release, err := n.writeErr.admit(ctx)
	if err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	defer release()
	var prev MessageID
	var linked bool
	if n.tail != nil {
		defer n.tail.lock(channel)()
		prev, linked = n.tail.begin(channel)
		if linked {
			// The channel's previous message, as a fenced append names
			// it: a reader of the stream needs no round trip to tell the
			// gap before this message from a purge (natsReader.skipped).
			if msg.Header == nil {
				msg.Header = make(nats.Header, 1)
			}
			msg.Header.Set(prevHeader, strconv.FormatUint(uint64(prev), 10))
		}
	}
	ack, err := n.js.PublishMsg(pctx, msg, jetstream.WithExpectStream(n.name))
	if err = faultErr(pctx, err); err != nil {
		if n.tail != nil {
			n.tail.uncertain(channel)
		}
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, n.mapErr(err))
	}
	if n.tail != nil {
		n.tail.appended(channel, prev, MessageID(ack.Sequence), linked, payload, props)
	}
	return MessageID(ack.Sequence), nil
}

// message checks an append and builds its NATS message.
func (n *NATS) message(channel string, payload []byte, props map[string]string) (*nats.Msg, error) {
	if err := checkChannel(channel); err != nil {
		return nil, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	if limit := n.MaxMessageBytes(); len(payload) > limit {
		return nil, fmt.Errorf("logbroker: append to %q: %d bytes > %d: %w", channel, len(payload), limit, ErrTooLarge)
	}
	if size := propsSize(props); size > MaxPropertiesBytes {
		return nil, fmt.Errorf("logbroker: append to %q: properties take %d bytes > %d: %w", channel, size, MaxPropertiesBytes, ErrTooLarge)
	}
	if n.isClosed() {
		return nil, fmt.Errorf("logbroker: append to %q: %w", channel, ErrClosed)
	}
	msg := &nats.Msg{Subject: n.dataSubject(channel), Data: payload}
	if len(props) > 0 {
		msg.Header = make(nats.Header, len(props)+1)
		for k, v := range props {
			msg.Header.Set(propKey(k), propValue(v))
		}
	}
	return msg, nil
}

// fenceHeader carries a fenced producer's tag. It has no P- prefix:
// readers do not return it as a property.
const fenceHeader = "Milvago-Fence"

// prevHeader carries the sequence of the channel's message before this
// one (0: none), on every message a fenced producer appends: the
// expected last sequence the stream checked before storing it. Plain
// Append has no such expectation and sets none.
const prevHeader = "Milvago-Prev"

// Producer implements Fencing: every append expects the channel subject's
// last sequence (Nats-Expected-Last-Subject-Sequence), so an append made
// after another writer's is refused by the stream leader itself.
func (n *NATS) Producer(ctx context.Context, channel string, epoch int64) (Producer, error) {
	if err := checkChannel(channel); err != nil {
		return nil, fmt.Errorf("logbroker: producer of %q: %w", channel, err)
	}
	return openFenced(ctx, n, channel, epoch)
}

// appendIf publishes with the subject's expected last sequence. An
// attempt that gets no answer (a lost reply, a leader election) is retried
// with the same expectation: if the first one landed, the retry is
// refused and the producer finds its own message last.
func (n *NATS) appendIf(ctx context.Context, channel string, expect MessageID, tag fenceTag, payload []byte, props map[string]string) (MessageID, error) {
	msg, err := n.message(channel, payload, props)
	if err != nil {
		return 0, err
	}
	if msg.Header == nil {
		msg.Header = make(nats.Header, 2)
	}
	msg.Header.Set(fenceHeader, tag.String())
	// The stream stores the message only if expect is the subject's last
	// sequence: the header names the channel's previous message, which
	// lets a reader see a purge in a gap without asking the server
	// (natsReader.skipped).
	msg.Header.Set(prevHeader, strconv.FormatUint(uint64(expect), 10))
	var ack *jetstream.PubAck
	pctx, release, err := n.writeErr.admit(ctx)
	if err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	defer release()
	if n.tail != nil {
		defer n.tail.lock(channel)()
		n.tail.begin(channel)
	}
	err = retryAPI(pctx, nil, func(ctx context.Context) error {
		var err error
		ack, err = n.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(n.name), jetstream.WithExpectLastSequencePerSubject(uint64(expect)))
		return err
	})
	err = faultErr(pctx, err)
	if isWrongLastSeq(err) {
		// Refused by the stream: not stored. The producer reads the last
		// message (which may be its own earlier attempt, landed).
		if n.tail != nil {
			n.tail.uncertain(channel)
		}
		return 0, fmt.Errorf("logbroker: append to %q after %d: %w (%w)", channel, expect, errWrongLast, err)
	}
	if err != nil {
		if n.tail != nil {
			n.tail.uncertain(channel) // it may have landed
		}
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, n.mapErr(err))
	}
	if n.tail != nil {
		n.tail.appended(channel, expect, MessageID(ack.Sequence), true, payload, props)
	}
	return MessageID(ack.Sequence), nil
}

// lastTag reads the channel subject's last message (Truncate keeps it
// stored, so the sequence the next conditional append expects is always
// there to read).
func (n *NATS) lastTag(ctx context.Context, channel string) (MessageID, fenceTag, bool, error) {
	raw, err := n.lastOnSubject(ctx, n.dataSubject(channel))
	if err != nil || raw == nil {
		return 0, fenceTag{}, false, err
	}
	tag, ok := parseFenceTag(raw.Header.Get(fenceHeader))
	return MessageID(raw.Sequence), tag, ok, nil
}

// lastOnSubject reads the last message stored on subject: nil, nil when
// there is none.
func (n *NATS) lastOnSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	var raw *jetstream.RawStreamMsg
	err := retryAPI(ctx, n.writeErr, func(ctx context.Context) error {
		var err error
		raw, err = n.stream.GetLastMsgForSubject(ctx, subject)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil
	case err != nil:
		return nil, n.mapErr(err)
	}
	return raw, nil
}

// truncPoint returns channel's truncation point. fresh asks the server;
// otherwise the last value this NATS saw is used when there is one.
func (n *NATS) truncPoint(ctx context.Context, channel string, fresh bool) (MessageID, error) {
	if !fresh {
		n.mu.Lock()
		t, ok := n.trunc[channel]
		n.mu.Unlock()
		if ok {
			return t, nil
		}
	}
	t, _, err := n.readMark(ctx, channel)
	if err != nil {
		return 0, err
	}
	return n.noteTrunc(channel, t), nil
}

// readMark reads channel's stored truncation point and the stream sequence
// of the message holding it (0, 0 if none).
func (n *NATS) readMark(ctx context.Context, channel string) (MessageID, uint64, error) {
	raw, err := n.lastOnSubject(ctx, n.truncSubject(channel))
	if err != nil || raw == nil {
		return 0, 0, err
	}
	v, err := strconv.ParseUint(string(raw.Data), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("truncation mark %q at %d: %w", raw.Data, raw.Sequence, err)
	}
	return MessageID(v), raw.Sequence, nil
}

// noteTrunc records a truncation point seen for channel and returns the
// highest one seen.
func (n *NATS) noteTrunc(channel string, t MessageID) MessageID {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.trunc[channel]; old > t {
		return old
	}
	n.trunc[channel] = t
	return t
}

// lastSeq returns the sequence of channel's last stored message, 0 if none.
func (n *NATS) lastSeq(ctx context.Context, channel string) (MessageID, error) {
	var raw *jetstream.RawStreamMsg
	err := retryAPI(ctx, n.writeErr, func(ctx context.Context) error {
		var err error
		raw, err = n.stream.GetLastMsgForSubject(ctx, n.dataSubject(channel))
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return 0, nil
	case err != nil:
		return 0, n.mapErr(err)
	}
	return MessageID(raw.Sequence), nil
}

// Latest implements Log.
func (n *NATS) Latest(ctx context.Context, channel string) (MessageID, error) {
	if err := checkChannel(channel); err != nil {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, err)
	}
	last, err := n.lastSeq(ctx, channel)
	if err != nil {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, err)
	}
	t, err := n.truncPoint(ctx, channel, true)
	if err != nil {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, err)
	}
	return max(last, t), nil
}

// Truncate implements Log. It first stores the new truncation point (a
// message on <prefix>.trunc.<channel>, published only if the mark it read
// is still the last one, so that concurrent truncations from several
// processes never move the point backwards), then purges the channel's
// subject below it, then the older marks. A crash in between leaves
// messages that Read already refuses to return, never a gap that Read
// would not report.
func (n *NATS) Truncate(ctx context.Context, channel string, upTo MessageID) error {
	if err := checkChannel(channel); err != nil {
		return fmt.Errorf("logbroker: truncate %q: %w", channel, err)
	}
	wrap := func(err error) error { return fmt.Errorf("logbroker: truncate %q up to %d: %w", channel, upTo, err) }
	for attempt := 1; ; attempt++ {
		cur, markSeq, err := n.readMark(ctx, channel)
		if err != nil {
			return wrap(err)
		}
		n.noteTrunc(channel, cur)
		if upTo <= cur {
			return nil
		}
		last, err := n.lastSeq(ctx, channel)
		if err != nil {
			return wrap(err)
		}
		point := min(upTo, last)
		if point <= cur {
			return nil
		}
		_, err = n.js.Publish(ctx, n.truncSubject(channel), strconv.AppendUint(nil, uint64(point), 10),
			jetstream.WithExpectStream(n.name), jetstream.WithExpectLastSequencePerSubject(markSeq))
		if isWrongLastSeq(err) && attempt < 100 {
			continue // another truncation stored a mark first: re-read it
		}
		if err != nil {
			return wrap(n.mapErr(err))
		}
		n.noteTrunc(channel, point)
		if n.tail != nil {
			n.tail.truncated(channel, point)
		}
		// The subject's last message stays stored (Read no longer returns
		// it): a fenced producer's next append expects its sequence, which
		// an emptied subject would lose.
		if err := n.stream.Purge(ctx, jetstream.WithPurgeSubject(n.dataSubject(channel)), jetstream.WithPurgeSequence(uint64(min(point+1, last)))); err != nil {
			return wrap(n.mapErr(err))
		}
		if err := n.stream.Purge(ctx, jetstream.WithPurgeSubject(n.truncSubject(channel)), jetstream.WithPurgeKeep(1)); err != nil {
			return wrap(n.mapErr(err))
		}
		return nil
	}
}

// isWrongLastSeq reports a failed expected-last-sequence check.
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// MaxMessageBytes implements Log: the server's max_payload minus the 4 KiB
// reserved for headers.
func (n *NATS) MaxMessageBytes() int { return n.maxPayload - propsReserve }

// StreamName is the JetStream stream holding the log (for diagnostics:
// internal/natscensus).
func (n *NATS) StreamName() string { return n.name }

// readerInactive is how long the server keeps a reader's ephemeral consumer
// once its client stopped pulling (a crashed process); Reader.Close deletes
// it at once.
const readerInactive = time.Minute

// readerHeartbeat is how often the server tells an idle reader it is
// still there: a reader whose pull went unanswered recovers within two
// (the client's default, 5 s, left a new shard's first read waiting 10 s
// on a NATS cluster).
const readerHeartbeat = time.Second

// readerHeartbeatFor is the reader's heartbeat on a server whose
// max_payload is maxPayload: readerHeartbeat, or longer so that two of
// them cover moving one maximal message at readerSlowRate (at most
// readerMaxHeartbeat). The client counts a heartbeat missed while a big
// message is still on its way (nothing reached the reader's subscription):
// it then drops the consumer and makes a new one, which sends the message
// again from its start. With 8 MiB messages (the embedded server's) on a
// loaded machine, under -race, one took over 2 s to arrive: the reader
// reset again and again and a read of two such messages waited 20 s.
// NATS's default 1 MiB keeps readerHeartbeat.
//
// One message is all that can hold up the next arrival because each
// reader has a connection of its own (Read): the server writes a
// connection's messages in order, so on a shared one a reader's heartbeat
// queued behind every other reader's pull batch (2 max_payloads each, up
// to the server's 64 MiB max_pending), and an idle reader next to one
// receiving 8 MiB messages was reset (TestNATSReaderBesideBigMessages).
// Its own pull batch is no hold-up: each of its messages that arrives
// restarts the client's count, so the longest silence is one message.
//
// A pull the server never answered (a new consumer on a cluster sometimes
// loses its first one) is not left to these heartbeats (8 s at 8 MiB):
// the client cannot tell that silence from a big message still arriving,
// but the server can, and the reader asks it (lostPullProbe: about 1 s,
// TestNATSReaderLostPullRecovers).
func readerHeartbeatFor(maxPayload int) time.Duration {
	hb := time.Duration(float64(maxPayload) / readerSlowRate * float64(time.Second) / 2)
	return min(max(hb, readerHeartbeat), readerMaxHeartbeat)
}

const (
	readerSlowRate     = 1 << 20 // bytes/s a loaded machine moved big messages at
	readerMaxHeartbeat = 5 * time.Second
)

// Read implements Log. The reader is an ordered consumer: ephemeral, held
// in memory by the server, filtered to the channel's subject and starting
// at after+1. It keeps no state on the server beyond its lifetime. It
// reads over a connection of its own (see readerHeartbeatFor), which
// Reader.Close closes: the dispatcher (internal/dispatcher) keeps one
// reader per physical channel a node consumes, plus at most 16 catching up.
func (n *NATS) Read(ctx context.Context, channel string, after MessageID) (Reader, error) {
	if err := checkChannel(channel); err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	if n.isClosed() {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, ErrClosed)
	}
	t, err := n.truncPoint(ctx, channel, true)
	if err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	if after == 0 {
		after = t
	} else if after < t {
		return nil, fmt.Errorf("logbroker: read %q after %d (truncated up to %d): %w", channel, after, t, ErrTruncated)
	}
	// The reader's own connection: see readerHeartbeatFor.
	rc, err := n.dial()
	if err != nil {
		return nil, fmt.Errorf("logbroker: read %q: reader connection: %w", channel, err)
	}
	js, err := jetstream.New(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("logbroker: read %q: jetstream: %w", channel, err)
	}
	gen := n.writeErr.generation()
	cons, it, err := n.consume(ctx, js, channel, after)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	r := &natsReader{n: n, channel: channel, nc: rc, js: js, cons: cons, it: it, gen: gen, pos: after, closing: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		it.Stop()
		rc.Close()
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, ErrClosed)
	}
	// The client's iterator goroutines end only on Stop, not when the
	// connection closes: Close stops every reader still open.
	n.readers[r] = struct{}{}
	return r, nil
}

// consume opens an ordered consumer of channel from after+1 over js (a
// reader's own connection) and its message iterator.
func (n *NATS) consume(ctx context.Context, js jetstream.JetStream, channel string, after MessageID) (jetstream.Consumer, jetstream.MessagesContext, error) {
	var cons jetstream.Consumer
	err := retryAPI(ctx, n.writeErr, func(ctx context.Context) error {
		var err error
		cons, err = js.OrderedConsumer(ctx, n.name, jetstream.OrderedConsumerConfig{
			FilterSubjects:    []string{n.dataSubject(channel)},
			DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:       uint64(after) + 1,
			InactiveThreshold: readerInactive,
		})
		return err
	})
	if err != nil {
		return nil, nil, n.mapErr(err)
	}
	// Buffer up to 1000 messages and 2 max_payloads (16 MiB on the embedded
	// server) per reader: a lagging reader of big inserts holds no more.
	// The idle heartbeat is readerHeartbeatFor's, not the client's 5 s: the
	// client notices a pull the server never answered (a new consumer on
	// a cluster sometimes loses its first one) after two missed heartbeats
	// and recreates the consumer, and until then the reader sees nothing.
	// Messages makes the server-side consumer (an API request: see
	// storeFault.enter).
	_, leave, err := n.writeErr.enter(ctx)
	if err != nil {
		return nil, nil, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(1000, 2*n.maxPayload),
		jetstream.PullHeartbeat(readerHeartbeatFor(n.maxPayload)))
	leave()
	if err != nil {
		return nil, nil, n.mapErr(err)
	}
	return cons, it, nil
}

// natsReader reads one channel through an ordered consumer.
type natsReader struct {
	n       *NATS
	channel string
	nc      *nats.Conn // the reader's own, closed by Close
	js      jetstream.JetStream

	itMu     sync.Mutex // guards cons, it, gen (replaced by Next after a reopen), itClosed
	cons     jetstream.Consumer
	it       jetstream.MessagesContext // nil while the reader takes the log's tail (tail_reader.go)
	gen      uint64                    // the embedded server's reopens when cons was made
	itClosed bool

	mu     sync.Mutex // guards pos, err; serialises Next
	pos    MessageID  // last ID returned, or the Read's after
	closed bool
	err    error // sticky ErrTruncated
	// got is the server-side consumer that delivered the last message
	// returned, and its delivery sequence there (lostPullProbe).
	got consumerPos
	// closing is closed when Close starts: it wakes a Next waiting on the
	// log's tail (Next holds mu while it waits).
	closing   chan struct{}
	closeOnce sync.Once
}

// consumerPos is a delivery of a named server-side consumer: an ordered
// consumer's underlying one changes at each of its resets.
type consumerPos struct {
	name string
	seq  uint64
}

// Next implements Reader.
func (r *natsReader) Next(ctx context.Context) (Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return Message{}, r.err
	}
	if r.closed {
		return Message{}, fmt.Errorf("logbroker: next on %q: reader %w", r.channel, ErrClosed)
	}
	if err := r.checkTrunc(ctx, false); err != nil {
		return Message{}, err
	}
	if r.n.tail != nil {
		msg, ok, err := r.nextFromTail(ctx)
		if err != nil || ok {
			return msg, err
		}
		if err := r.ensureConsumer(ctx); err != nil {
			return Message{}, err
		}
	}
	m, err := r.next(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Message{}, ctxErr
		}
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return Message{}, fmt.Errorf("logbroker: next on %q: %w", r.channel, ErrClosed)
		}
		return Message{}, fmt.Errorf("logbroker: next on %q: %w", r.channel, r.n.mapErr(err))
	}
	md, err := m.Metadata()
	if err != nil {
		return Message{}, fmt.Errorf("logbroker: next on %q: %w", r.channel, err)
	}
	// A truncation may have passed us while the message sat in the buffer.
	if err := r.checkTrunc(ctx, false); err != nil {
		return Message{}, err
	}
	id := MessageID(md.Sequence.Stream)
	if err := r.skipped(ctx, id, m.Headers()); err != nil {
		return Message{}, err
	}
	r.got = consumerPos{name: md.Consumer, seq: md.Sequence.Consumer}
	msg := Message{ID: id, Payload: m.Data()}
	if msg.Payload == nil {
		msg.Payload = []byte{}
	}
	for k, vs := range m.Headers() {
		if !strings.HasPrefix(k, propKeyPrefix) || len(vs) == 0 {
			continue
		}
		if msg.Properties == nil {
			msg.Properties = make(map[string]string)
		}
		msg.Properties[unescape(k[len(propKeyPrefix):])] = unescape(vs[0])
	}
	r.pos = msg.ID
	return msg, nil
}

// skipped fails (for good) if the consumer skipped messages of the
// channel between the reader's position and id: a truncation another
// process made (another NATS value, whose mark is not in this one's
// cache) purged them before the consumer fetched them, and the consumer
// goes on with the first message the purge left, silently.
//
// IDs are the stream's sequence, shared by every channel, so a gap
// (id > pos+1) is the normal case and says nothing by itself. A message
// a fenced producer appended names the channel's message before it
// (prevHeader, checked by the stream when it stored the message): if
// that one is past pos, the reader never got it, and it is gone; if not,
// no message of the channel lies between pos and id. That costs no round
// trip, and it is exact, whatever else happens at the same time
// (appends, other channels' messages, other truncations). A message
// without the header (plain Append, or written before the header
// existed) leaves a gap undecided: the mark is then read from the
// server, which has it before the purge starts (Truncate stores it
// first), so a purge the consumer already skipped is always covered.
func (r *natsReader) skipped(ctx context.Context, id MessageID, h nats.Header) error {
	if id <= r.pos+1 {
		return nil
	}
	prev, err := strconv.ParseUint(h.Get(prevHeader), 10, 64)
	if err != nil { // no header: the gap is undecided
		return r.checkTrunc(ctx, true)
	}
	if MessageID(prev) <= r.pos {
		return nil
	}
	// The message at prev was purged; the mark says how far.
	if err := r.checkTrunc(ctx, true); err != nil {
		return err
	}
	// No mark covers it: deleted by something other than Truncate (an
	// operator's purge). Still not skipped silently.
	r.err = fmt.Errorf("logbroker: next on %q after %d: message %d, before %d, is gone without a truncation mark: %w",
		r.channel, r.pos, prev, id, ErrTruncated)
	return r.err
}

// next waits for the consumer's next message. If the embedded server
// reopens JetStream meanwhile (after a store write error), the consumer is
// gone with it: the client would notice only after two missed heartbeats
// (8 s with 8 MiB messages, see readerHeartbeatFor), so next opens a new
// one after the last message returned at once. So it does when the
// consumer's pull was lost (pullLost): the client's heartbeats, long at
// 8 MiB, are not what notices it.
func (r *natsReader) next(ctx context.Context) (jetstream.Msg, error) {
	var lost lostPullProbe
	for {
		epoch, err := r.n.writeErr.settle(ctx)
		if err != nil {
			return nil, err
		}
		r.itMu.Lock()
		it, cons, gen := r.it, r.cons, r.gen
		r.itMu.Unlock()
		wctx, release := r.n.writeErr.watchReopen(ctx, gen)
		pctx, cancel := context.WithTimeout(wctx, lost.every())
		m, err := it.Next(jetstream.NextContext(pctx))
		probe := err != nil && wctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded)
		cancel()
		reopened := err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), errReopened)
		release()
		if probe {
			if !lost.pullLost(ctx, r.n.writeErr, cons, r.got) {
				if lost.probes++; lost.probes%6 == 0 && lost.info != nil {
					i := lost.info
					r.n.logger.Debug("nats reader: waiting long", "channel", r.channel, "after", r.pos, "probes", lost.probes,
						"consumer", i.Name, "waiting", i.NumWaiting, "pending", i.NumPending, "delivered_stream", i.Delivered.Stream,
						"delivered_consumer", i.Delivered.Consumer, "ack_floor", i.AckFloor.Stream)
				}
				continue
			}
			r.n.logger.Warn("nats reader: the consumer's pull was lost (the server waits for none and has messages for it): new consumer",
				"channel", r.channel, "after", r.pos)
		} else if !reopened && (err == nil || !jetStreamUnavailable(err) || !r.n.writeErr.changedSince(epoch)) {
			// The consumer's own answer: "stream not found" while the
			// embedded JetStream reopened was the reopen's, not the stream's.
			return m, err
		}
		gen = r.n.writeErr.generation()
		cons, it, err = r.n.consume(ctx, r.js, r.channel, r.pos)
		if err != nil {
			return nil, err
		}
		r.itMu.Lock()
		if r.itClosed { // Close ran meanwhile
			r.itMu.Unlock()
			it.Stop()
			return nil, jetstream.ErrMsgIteratorClosed
		}
		old := r.it
		r.cons, r.it, r.gen = cons, it, gen
		r.itMu.Unlock()
		old.Stop()
		lost = lostPullProbe{}
	}
}

// lostPullProbeEvery is how long a reader waits for a message before it
// asks the server whether its consumer still has a pull to answer. Each
// answer that finds the pull waiting doubles the wait before the next
// question, up to lostPullProbeEvery << lostPullProbeBackoff (8 s): a
// quiet channel costs each of its readers a request every 8 s, not two a
// second (20 loaded collections, a dispatcher and a data node reader per
// channel, made ~30 requests a second and tripled the idle server's CPU,
// issue 12). A pull lost from the start (a new consumer's, the case seen)
// is still found at the second probe, a second after the read began; one
// lost later within the wait, which the client's heartbeats also catch.
const (
	lostPullProbeEvery   = 500 * time.Millisecond
	lostPullProbeBackoff = 4
)

// lostPullProbe tells a lost pull from a message still on its way. The
// server sometimes loses a new consumer's pull on a cluster; the client
// notices only after two missed heartbeats, which are long with a large
// max_payload (8 s at 8 MiB: a heartbeat queued behind a big message must
// not count as missed, readerHeartbeatFor). The server knows better: a
// consumer with no pull waiting (NumWaiting 0) that delivered nothing past
// what the reader got is not sending anything, so its pull is gone, and a
// message appended now would not reach the reader. Deliveries are counted
// in the consumer's own sequence: its delivered stream sequence also moves
// when a truncation purges the messages ahead of it, with nothing sent
// (a reader whose pull was lost on a channel that retention keeps
// truncating saw it move for minutes). Messages delivered past the reader
// are on their way (a slow link, a big message): the pull they answered
// may have ended (its max_bytes reached) and the client sends the next
// when they arrive, so that is no evidence. A pull ended and the client's
// next one not yet arrived also looks lost, but only for a moment: a lost
// pull is reported at the second probe in a row that finds it so,
// lostPullProbeEvery apart.
type lostPullProbe struct {
	suspect bool
	healthy int // answers in a row that found a pull waiting (or a delivery on its way)
	probes  int
	info    *jetstream.ConsumerInfo // the last answer, for the debug log
}

// pullLost asks the server about cons, whose reader got the delivery got
// last (not while the embedded server reopens JetStream: reopen). An
// error of the request is no evidence: it reports false.
func (p *lostPullProbe) pullLost(ctx context.Context, reopen *storeFault, cons jetstream.Consumer, got consumerPos) bool {
	_, leave, err := reopen.enter(ctx) // the consumer is gone after a reopen
	if err != nil {
		return false
	}
	ictx, cancel := context.WithTimeout(ctx, apiAttempt)
	info, err := cons.Info(ictx)
	cancel()
	leave()
	p.info = info
	if err != nil || info.NumWaiting > 0 || deliveredPast(info, got) {
		p.suspect = false
		if err == nil {
			p.healthy++
		}
		return false
	}
	p.healthy = 0
	if p.suspect {
		return true
	}
	p.suspect = true
	return false
}

// every is how long to wait for a message before the next probe.
func (p *lostPullProbe) every() time.Duration {
	return lostPullProbeEvery << min(p.healthy, lostPullProbeBackoff)
}

// deliveredPast reports whether the consumer info describes has sent a
// message after got: any at all if it is not the consumer got came from
// (the ordered consumer was reset since).
func deliveredPast(info *jetstream.ConsumerInfo, got consumerPos) bool {
	if info.Name != got.name {
		return info.Delivered.Consumer > 0
	}
	return info.Delivered.Consumer > got.seq
}

// checkTrunc fails (for good) if a truncation passed the reader's
// position: one this NATS knows of, or with fresh one the server has.
func (r *natsReader) checkTrunc(ctx context.Context, fresh bool) error {
	t, err := r.n.truncPoint(ctx, r.channel, fresh)
	if err != nil {
		return fmt.Errorf("logbroker: next on %q: %w", r.channel, err)
	}
	if r.pos < t {
		r.err = fmt.Errorf("logbroker: next on %q after %d (truncated up to %d): %w", r.channel, r.pos, t, ErrTruncated)
		return r.err
	}
	return nil
}

// Close implements Reader: it stops the consumer, deletes it from the
// server and closes the reader's connection. A Next blocked in another
// goroutine returns ErrClosed.
func (r *natsReader) Close() error {
	r.closeOnce.Do(func() { close(r.closing) })
	r.itMu.Lock()
	r.itClosed = true
	it, cons := r.it, r.cons
	r.itMu.Unlock()
	if it == nil { // taking the tail: its consumer is deleted already
		r.n.mu.Lock()
		delete(r.n.readers, r)
		r.n.mu.Unlock()
		r.mu.Lock() // no Next under way: the tail forgets the reader for good
		defer r.mu.Unlock()
		r.n.tail.left(r.channel, r)
		if !r.closed {
			r.closed = true
			r.nc.Close()
		}
		return nil
	}
	it.Stop()
	r.n.mu.Lock()
	delete(r.n.readers, r)
	r.n.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n.tail != nil {
		r.n.tail.left(r.channel, r)
	}
	if r.closed {
		return nil
	}
	r.closed = true
	defer r.nc.Close()
	if r.n.isClosed() {
		return nil
	}
	r.deleteConsumer(cons)
	return nil
}

// deleteConsumer deletes cons, a consumer the reader stopped, from the
// server; the server drops it after readerInactive anyway, so a failure
// is only logged at debug level.
func (r *natsReader) deleteConsumer(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil || info.Name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, leave, err := r.n.writeErr.enter(ctx)
	if err != nil {
		return
	}
	err = r.n.js.DeleteConsumer(ctx, r.n.name, info.Name)
	leave()
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, nats.ErrConnectionClosed) {
		r.n.logger.Debug("delete reader consumer", "channel", r.channel, "consumer", info.Name, "err", err)
	}
}

// Close implements Log: it stops every open reader (a blocked Next returns
// ErrClosed) and closes the connection.
func (n *NATS) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	readers := make([]*natsReader, 0, len(n.readers))
	for r := range n.readers {
		readers = append(readers, r)
	}
	n.mu.Unlock()
	for _, r := range readers {
		r.Close()
	}
	if n.tail != nil {
		n.tail.close()
	}
	n.nc.Close()
	return nil
}

// apiAttempt bounds one attempt of an idempotent JetStream API request.
const apiAttempt = 5 * time.Second

// retryAPI runs an idempotent JetStream API request until it succeeds,
// fails for a reason other than the cluster being unavailable, or ctx
// ends. A request sent while the cluster elects a meta or stream leader
// (a server was lost) gets no answer at all, so each attempt has its own
// timeout; the nats client would otherwise wait for ctx.
//
// reopen (the embedded server's, else nil) adds the embedded JetStream's
// reopen after a full disk: an attempt waits while it is under way, and
// an attempt that failed while a reopen began or ended ("stream not
// found" from JetStream enabled again but not done recovering its streams,
// "jetstream not enabled" while shut down, or no answer: a request that
// reached it as it shut down is dropped, and is cut short when the reopen
// ends) got the reopen's answer, not the stream's: it is made again once
// the reopen is over, at once, not after a backoff. The same answer with
// no reopen in between is the stream's and is returned (mapErr): a stream
// deleted or whose store was removed is reported, never read as empty.
func retryAPI(ctx context.Context, reopen *storeFault, f func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		epoch, leave, err := reopen.enter(ctx)
		if err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, apiAttempt)
		actx, release := reopen.watchEnd(actx)
		err = f(actx)
		release()
		cancel()
		leave()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if reopen.changedSince(epoch) {
			continue // enter waits for the reopen to end
		}
		if !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// jetStreamUnavailable reports JetStream's answers while it is shut down
// or not yet done recovering its streams: "jetstream not enabled (for
// account)" (503) and "stream not found" (404). Alone they do not say
// which: the stream may really be gone (natsReader.next asks whether a
// reopen was under way).
func jetStreamUnavailable(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jetstream.JSErrCodeStreamNotFound, jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
		return true
	}
	return false
}

// errCodeClusterNoPeers is JetStream's JSClusterNoPeersErrF ("no suitable
// peers for placement"), which nats.go has no constant for.
const errCodeClusterNoPeers jetstream.ErrorCode = 10005

// transient reports an error that a JetStream cluster without a leader
// returns: no answer, no responders, "temporarily unavailable" (503; but
// not a full store, which JetStream also answers with 503), or,
// while a cluster that just started has not yet seen every peer online,
// "no suitable peers for placement" (10005) for a replicated stream.
func transient(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Code == 503 && !isStoreFull(err) || apiErr.ErrorCode == errCodeClusterNoPeers
	}
	return false
}
