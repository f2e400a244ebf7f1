package logbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultTopicPrefix is KafkaConfig.TopicPrefix when left empty.
const DefaultTopicPrefix = "milvago-log-"

// DefaultKafkaMaxMessageBytes is KafkaConfig.MaxMessageBytes when left
// empty: the same 1 MiB - 4 KiB as an external NATS with its default
// max_payload, so the proxy splits inserts alike on both.
const DefaultKafkaMaxMessageBytes = 1<<20 - propsReserve

// kafkaBatchOverhead is what a record batch of one record adds to its
// payload and headers: the batch header (61 bytes) and the record's
// varints, rounded up generously.
const kafkaBatchOverhead = 1 << 10

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// KafkaConfig configures a Kafka log.
type KafkaConfig struct {
	// Brokers are the seed brokers, "host:port".
	Brokers []string
	// TopicPrefix prefixes the topic of every channel, so that several
	// Milvago instances can share a Kafka cluster. Letters, digits, '-'
	// and '_' only ('.' would collide with '_' in Kafka's metric names).
	// Empty means DefaultTopicPrefix.
	TopicPrefix string
	// ReplicationFactor of the topics the log creates. 0 means the
	// brokers' default.replication.factor. With 3 or more, topics also
	// get min.insync.replicas=2, so that an acknowledged append is on at
	// least two brokers.
	ReplicationFactor int
	// MaxMessageBytes is the largest payload Append accepts; topics are
	// created with a max.message.bytes that fits it with properties.
	// 0 means DefaultKafkaMaxMessageBytes.
	MaxMessageBytes int
	// Options are extra franz-go client options (TLS, SASL, ...), used
	// by the log's client and by every reader's.
	Options []kgo.Opt
}

// Validate reports a configuration error.
func (c KafkaConfig) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("logbroker: kafka: no brokers")
	}
	if c.TopicPrefix != "" && !prefixRE.MatchString(c.TopicPrefix) {
		return fmt.Errorf("logbroker: kafka: topic prefix %q: only letters, digits, '-' and '_' allowed", c.TopicPrefix)
	}
	if c.ReplicationFactor < 0 || c.ReplicationFactor > 32767 {
		return fmt.Errorf("logbroker: kafka: replication factor %d", c.ReplicationFactor)
	}
	if c.MaxMessageBytes < 0 || c.MaxMessageBytes > 64<<20 {
		return fmt.Errorf("logbroker: kafka: max message bytes %d: want 0 (default) up to 64 MiB", c.MaxMessageBytes)
	}
	return nil
}

func (c KafkaConfig) withDefaults() KafkaConfig {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultKafkaMaxMessageBytes
	}
	return c
}

// Kafka is a Log over Kafka: one single-partition topic per channel, so a
// message's ID is its offset + 1 and IDs are contiguous. See the package
// documentation for the mapping and its guarantees.
type Kafka struct {
	cfg      KafkaConfig
	cl       *kgo.Client // produces, and carries the admin requests
	adm      *kadm.Client
	topicMax int // max.message.bytes of the topics: payload + headers + batch
	logger   *slog.Logger

	mu      sync.Mutex           // guards topics, trunc, readers and closed
	topics  map[string]bool      // topics known to exist with one partition
	trunc   map[string]MessageID // truncation points seen by this value
	phys    map[string]MessageID // log start offsets this value truncated to
	readers map[*kafkaReader]struct{}
	closed  bool
}

var _ Log = (*Kafka)(nil)

// NewKafka connects to the brokers in cfg and checks that they answer.
// Topics are created on first use of a channel. A nil logger discards.
func NewKafka(ctx context.Context, cfg KafkaConfig, logger *slog.Logger) (*Kafka, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	k := &Kafka{
		cfg:      cfg,
		topicMax: cfg.MaxMessageBytes + propsReserve + kafkaBatchOverhead,
		logger:   logger.With("component", "logbroker", "kafka", strings.Join(cfg.Brokers, ",")),
		topics:   make(map[string]bool),
		trunc:    make(map[string]MessageID),
		phys:     make(map[string]MessageID),
		readers:  make(map[*kafkaReader]struct{}),
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.WithLogger(kgoLogger{k.logger}),
		// An append is acknowledged by every in-sync replica (acks=all,
		// the default with the idempotent producer), and sent at once:
		// Append waits for its record, so lingering only adds latency.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(int32(k.topicMax)),
		// The client answers the admin requests' topic lookups (list
		// offsets, metadata) from its cache for this long (5 s by
		// default): a topic looked up before another process created it
		// would seem missing that long.
		kgo.MetadataMinAge(metadataMinAge),
	}, cfg.Options...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("logbroker: kafka client %v: %w", cfg.Brokers, err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("logbroker: kafka %v not reachable: %w", cfg.Brokers, err)
	}
	k.cl, k.adm = cl, kadm.NewClient(cl)
	return k, nil
}

// topic returns channel's topic: the prefix, then the channel name with
// every byte outside [A-Za-z0-9-] escaped, '_' as "__" and any other as
// "_XX" (hex). The mapping is injective and never emits '.', which Kafka
// treats as equal to '_' when it checks topic names for collisions.
func (k *Kafka) topic(channel string) (string, error) {
	var b strings.Builder
	b.WriteString(k.cfg.TopicPrefix)
	for i := 0; i < len(channel); i++ {
		c := channel[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-':
			b.WriteByte(c)
		case c == '_':
			b.WriteString("__")
		default:
			b.WriteByte('_')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	if b.Len() > maxTopicLen {
		return "", fmt.Errorf("channel name too long for a Kafka topic (%d > %d bytes): %w", b.Len(), maxTopicLen, ErrNoSuchChannel)
	}
	return b.String(), nil
}

// channelTopic checks channel and returns its topic.
func (k *Kafka) channelTopic(channel string) (string, error) {
	if err := checkChannel(channel); err != nil {
		return "", err
	}
	return k.topic(channel)
}

func (k *Kafka) isClosed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.closed
}

// mapErr turns client errors into the contract's errors.
//
// No Kafka error is ErrFull: the protocol has no "out of space" answer. A
// broker whose disk fills up gets an I/O error on its log directory, takes
// the directory offline and answers KAFKA_STORAGE_ERROR ("disk error when
// trying to access log file on the disk") for its partitions, the same
// answer as for a failed disk or a read-only file system, so a write
// refused with it is not surely one that room would admit; it is wrapped
// with what it means instead. (The client retries it, so it usually comes
// back as the last error of a record timeout, which errors.Is sees.)
// RECORD_LIST_TOO_LARGE and MESSAGE_TOO_LARGE are the record's size;
// POLICY_VIOLATION is the broker's configured policy, neither is room.
func (k *Kafka) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case k.isClosed(), errors.Is(err, kgo.ErrClientClosed):
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w (%w)", ErrTooLarge, err)
	case errors.Is(err, kerr.KafkaStorageError):
		return fmt.Errorf("the broker cannot write its log directory (a full or failed disk, or a read-only file system, on the broker): %w", err)
	case errors.Is(err, kerr.PolicyViolation):
		return fmt.Errorf("the broker's configured policy refused the request: %w", err)
	}
	return err
}

// ensureTopic creates channel's topic unless this value knows it exists:
// one partition, the configured replication, no time or size retention
// (only Truncate removes messages), max.message.bytes for the payload
// limit. A topic that already exists must have one partition.
func (k *Kafka) ensureTopic(ctx context.Context, topic string) error {
	k.mu.Lock()
	known := k.topics[topic]
	k.mu.Unlock()
	if known {
		return nil
	}
	str := func(s string) *string { return &s }
	configs := map[string]*string{
		"cleanup.policy":    str("delete"),
		"retention.ms":      str("-1"),
		"retention.bytes":   str("-1"),
		"max.message.bytes": str(strconv.Itoa(k.topicMax)),
	}
	rf := int16(-1)
	if k.cfg.ReplicationFactor > 0 {
		rf = int16(k.cfg.ReplicationFactor)
	}
	if k.cfg.ReplicationFactor >= 3 {
		configs["min.insync.replicas"] = str("2")
	}
	_, err := k.adm.CreateTopic(ctx, 1, rf, configs, topic)
	switch {
	case err == nil:
		k.logger.Debug("topic created", "topic", topic)
	case errors.Is(err, kerr.TopicAlreadyExists):
	default:
		return fmt.Errorf("create topic %s: %w", topic, k.mapErr(err))
	}
	// Created, by this call or by another process (the streaming node
	// writing and the nodes reading a channel create its topic at the same
	// time). The client's metadata cache (metadataMinAge) may still hold
	// "unknown topic" from an earlier lookup, and the brokers' metadata
	// lags behind the controller: the topic may not be listed, or have no
	// leader, for a moment.
	if err := k.waitTopic(ctx, topic); err != nil {
		return err
	}
	k.mu.Lock()
	k.topics[topic] = true
	k.mu.Unlock()
	return nil
}

// metadataMinAge is how long the log's client trusts its topic metadata.
const metadataMinAge = 250 * time.Millisecond

// topicWait bounds how long a topic that exists may take to be listed
// with a leader.
const topicWait = 30 * time.Second

// waitTopic waits until the brokers list topic with one partition that has
// a leader.
func (k *Kafka) waitTopic(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, topicWait)
	defer cancel()
	pause := 10 * time.Millisecond
	for {
		details, err := k.adm.ListTopics(ctx, topic)
		if err != nil {
			return fmt.Errorf("describe topic %s: %w", topic, k.mapErr(err))
		}
		d, listed := details[topic]
		var lag error // why the topic is not usable yet, if it is a passing state
		switch {
		case !listed:
			lag = errors.New("not listed")
		case d.Err != nil:
			if !errors.Is(d.Err, kerr.UnknownTopicOrPartition) && !errors.Is(d.Err, kerr.LeaderNotAvailable) {
				return fmt.Errorf("describe topic %s: %w", topic, k.mapErr(d.Err))
			}
			lag = d.Err
		case len(d.Partitions) != 1:
			return fmt.Errorf("topic %s has %d partitions, want 1 (created by something else?)", topic, len(d.Partitions))
		case d.Partitions[0].Err != nil || d.Partitions[0].Leader < 0:
			lag = errors.Join(errors.New("partition 0 has no leader"), d.Partitions[0].Err)
		default:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("describe topic %s: %w (%w)", topic, lag, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// offsets returns the topic's log start offset (its truncation point: IDs
// up to it are gone) and high watermark (the ID of its last message);
// ok is false when the topic does not exist.
func (k *Kafka) offsets(ctx context.Context, topic string) (start, end MessageID, ok bool, err error) {
	lookup := func(l kadm.ListedOffsets, err error) (MessageID, bool, error) {
		var se *kadm.ShardErrors
		if err != nil && !errors.As(err, &se) {
			return 0, false, k.mapErr(err)
		}
		o, found := l.Lookup(topic, 0)
		switch {
		case found && errors.Is(o.Err, kerr.UnknownTopicOrPartition):
			return 0, false, nil
		case found && o.Err != nil:
			return 0, false, k.mapErr(o.Err)
		case found:
			return MessageID(o.Offset), true, nil
		case err != nil:
			// A broker failed to answer for the partition: not the
			// same as a topic that does not exist.
			return 0, false, k.mapErr(err)
		}
		return 0, false, nil // not in the cluster's metadata
	}
	start, ok, err = lookup(k.adm.ListStartOffsets(ctx, topic))
	if err != nil || !ok {
		return 0, 0, false, err
	}
	end, ok, err = lookup(k.adm.ListEndOffsets(ctx, topic))
	if err != nil || !ok {
		return 0, 0, false, err
	}
	return start, end, true, nil
}

// noteTrunc records a truncation point seen for channel and returns the
// highest one seen.
func (k *Kafka) noteTrunc(channel string, t MessageID) MessageID {
	k.mu.Lock()
	defer k.mu.Unlock()
	if old := k.trunc[channel]; old > t {
		return old
	}
	k.trunc[channel] = t
	return t
}

// notePhys records the log start offset this value truncated channel to
// (at or below its truncation point: see Truncate).
func (k *Kafka) notePhys(channel string, p MessageID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.phys[channel] = max(k.phys[channel], p)
}

// observeStart records the log start offset start just read for channel
// and returns the truncation point: the higher of start and any point this
// value truncated to or saw before. A broker that crashes can come back
// with an older log start offset than the one DeleteRecords set (Kafka
// checkpoints it only every log.flush.start.offset.checkpoint.interval.ms,
// 60 s by default; kfake keeps it only on a clean shutdown): the
// truncation then seems to have moved backwards. When this value knows a
// higher point it truncates there again (end is the high watermark, a
// bound on the point), so that a reader from the oldest retained message
// does not see messages already discarded.
func (k *Kafka) observeStart(ctx context.Context, channel, topic string, start, end MessageID) MessageID {
	t := k.noteTrunc(channel, start)
	k.mu.Lock()
	ph := k.phys[channel]
	k.mu.Unlock()
	// ph, not t: Truncate keeps the record holding the fence state
	// stored below t.
	if ph <= start || ph > end {
		return t
	}
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: int64(ph), LeaderEpoch: -1})
	resp, err := k.adm.DeleteRecords(ctx, os)
	if err == nil {
		if r, found := resp.Lookup(topic, 0); found {
			err = r.Err
		}
	}
	if err != nil {
		k.logger.Warn("re-truncating a channel whose truncation point went backwards (broker crash?)",
			"channel", channel, "broker_start", start, "truncation_point", t, "error", err)
	} else {
		k.logger.Info("re-truncated a channel whose truncation point went backwards (broker crash?)",
			"channel", channel, "broker_start", start, "truncation_point", t)
	}
	return t
}

// Append implements Log. It returns once the partition leader has the
// record and every in-sync replica has acknowledged it (acks=all). If it
// fails with a timeout the record may still have been stored.
func (k *Kafka) Append(ctx context.Context, channel string, payload []byte, props map[string]string) (MessageID, error) {
	topic, err := k.channelTopic(channel)
	if err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	return k.appendRecord(ctx, channel, topic, payload, props, nil)
}

// appendRecord is Append with extra headers (a fenced producer's).
func (k *Kafka) appendRecord(ctx context.Context, channel, topic string, payload []byte, props map[string]string, extra []kgo.RecordHeader) (MessageID, error) {
	if limit := k.MaxMessageBytes(); len(payload) > limit {
		return 0, fmt.Errorf("logbroker: append to %q: %d bytes > %d: %w", channel, len(payload), limit, ErrTooLarge)
	}
	if size := propsSize(props); size > MaxPropertiesBytes {
		return 0, fmt.Errorf("logbroker: append to %q: properties take %d bytes > %d: %w", channel, size, MaxPropertiesBytes, ErrTooLarge)
	}
	if k.isClosed() {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, ErrClosed)
	}
	if err := k.ensureTopic(ctx, topic); err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, err)
	}
	// The client keeps the record until it is acknowledged: copy what
	// the caller may reuse once Append returns (on a timeout, too).
	rec := &kgo.Record{Topic: topic, Partition: 0, Value: slices.Clone(payload)}
	if rec.Value == nil {
		rec.Value = []byte{}
	}
	rec.Headers = make([]kgo.RecordHeader, 0, len(props)+len(extra))
	for key, v := range props {
		if key == kafkaFenceHeader || key == kafkaPrevHeader {
			continue // the fence's own; never taken from a caller
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: key, Value: []byte(v)})
	}
	rec.Headers = append(rec.Headers, extra...)
	if err := k.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return 0, fmt.Errorf("logbroker: append to %q: %w", channel, k.mapErr(err))
	}
	return MessageID(rec.Offset + 1), nil
}

// Latest implements Log: the topic's high watermark, which is the ID of
// its last message (offset + 1) and stays where it is when DeleteRecords
// removes everything.
func (k *Kafka) Latest(ctx context.Context, channel string) (MessageID, error) {
	topic, err := k.channelTopic(channel)
	if err != nil {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, err)
	}
	start, end, ok, err := k.offsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("logbroker: latest of %q: %w", channel, err)
	}
	if ok {
		k.observeStart(ctx, channel, topic, start, end)
	}
	return end, nil
}

// Truncate implements Log with DeleteRecords, which moves the topic's log
// start offset to upTo (clamped to the high watermark): the records with
// offsets below it, that is IDs up to upTo, are gone. Kafka keeps the log
// start offset, so the truncation point survives restarts and is seen by
// every process, and it never moves backwards.
func (k *Kafka) Truncate(ctx context.Context, channel string, upTo MessageID) error {
	topic, err := k.channelTopic(channel)
	if err != nil {
		return fmt.Errorf("logbroker: truncate %q: %w", channel, err)
	}
	wrap := func(err error) error { return fmt.Errorf("logbroker: truncate %q up to %d: %w", channel, upTo, err) }
	for attempt := 1; ; attempt++ {
		start, end, ok, err := k.offsets(ctx, topic)
		if err != nil {
			return wrap(err)
		}
		point := min(upTo, end)
		if !ok || point <= k.noteTrunc(channel, start) {
			return nil
		}
		// The record that sets the fence state at point stays stored
		// (kafka_fence.go): the state after point must stay readable.
		st, err := k.scanFence(ctx, topic, point)
		if errors.Is(err, ErrTruncated) && attempt < 10 {
			continue
		}
		if err != nil {
			return wrap(err)
		}
		phys := point
		if st.id > 0 && st.id-1 < phys {
			phys = st.id - 1
		}
		if phys <= start {
			k.notePhys(channel, start)
			k.noteTrunc(channel, point)
			return nil
		}
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: topic, Partition: 0, At: int64(phys), LeaderEpoch: -1})
		resp, err := k.adm.DeleteRecords(ctx, os)
		if err != nil {
			return wrap(k.mapErr(err))
		}
		r, found := resp.Lookup(topic, 0)
		switch {
		case !found:
			return wrap(errors.New("no answer for the partition"))
		case errors.Is(r.Err, kerr.OffsetOutOfRange) && attempt < 10:
			continue // truncated further meanwhile: re-read the offsets
		case r.Err != nil:
			return wrap(k.mapErr(r.Err))
		}
		k.notePhys(channel, MessageID(r.LowWatermark))
		k.noteTrunc(channel, max(point, MessageID(r.LowWatermark)))
		return nil
	}
}

// MaxMessageBytes implements Log.
func (k *Kafka) MaxMessageBytes() int { return k.cfg.MaxMessageBytes }

// Read implements Log. Each reader has its own franz-go client consuming
// the channel's one partition directly (no consumer group, nothing stored
// in the brokers), from offset after (the offset of ID after+1).
func (k *Kafka) Read(ctx context.Context, channel string, after MessageID) (Reader, error) {
	topic, err := k.channelTopic(channel)
	if err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	if k.isClosed() {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, ErrClosed)
	}
	if err := k.ensureTopic(ctx, topic); err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	start, end, ok, err := k.offsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	if !ok {
		return nil, fmt.Errorf("logbroker: read %q: topic %s not found after creating it", channel, topic)
	}
	t := k.observeStart(ctx, channel, topic, start, end)
	if after == 0 {
		after = t
	} else if after < t {
		return nil, fmt.Errorf("logbroker: read %q after %d (truncated up to %d): %w", channel, after, t, ErrTruncated)
	}
	// Past the end, start at the end and skip up to after: a fetch
	// beyond the high watermark is out of range.
	from := min(after, end)
	opts := k.partitionReaderOpts(topic, from)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, err)
	}
	r := &kafkaReader{k: k, channel: channel, cl: cl, pos: after, closing: make(chan struct{})}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		cl.Close()
		return nil, fmt.Errorf("logbroker: read %q: %w", channel, ErrClosed)
	}
	k.readers[r] = struct{}{}
	return r, nil
}

// kafkaReader reads one channel through its own client.
type kafkaReader struct {
	k       *Kafka
	channel string
	cl      *kgo.Client
	// closeCl closes cl once: the reader's owner and Kafka.Close may
	// close it at the same time, and franz-go's Close is not safe to run
	// twice concurrently.
	closeCl sync.Once
	closing chan struct{} // closed by Close, before it takes mu

	mu     sync.Mutex    // guards pos, buf, closed, err; serialises Next
	pos    MessageID     // last ID returned, or the Read's after
	buf    []*kgo.Record // fetched, not yet returned
	closed bool
	err    error // sticky ErrTruncated

	// The fence state after pos (kafka_fence.go), once known: a reader
	// learns it at the first anchor it reads, or rebuilds it by reading
	// back when a record needs it before that.
	st      kafkaFenceState
	stKnown bool
}

// fence decides whether the reader returns the record at id, as every
// reader and the record's writer decide.
func (r *kafkaReader) fence(ctx context.Context, id MessageID, rec *kgo.Record) (bool, error) {
	f := recordFence(rec)
	switch {
	case !f.tagged:
		return true, nil
	case f.contiguous(id):
		r.st, _ = judge(r.st, id, f)
		r.stKnown = true
		return true, nil
	case !r.stKnown:
		topic, err := r.k.topic(r.channel)
		if err != nil {
			return false, err
		}
		// Close must not wait for the scan (it takes r.mu).
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-r.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		st, err := r.k.scanFence(ctx, topic, id-1)
		if err != nil {
			return false, fmt.Errorf("logbroker: next on %q: fence state before message %d: %w", r.channel, id, err)
		}
		r.st, r.stKnown = st, true
	}
	st, ok := judge(r.st, id, f)
	r.st = st
	return ok, nil
}

// Next implements Reader.
func (r *kafkaReader) Next(ctx context.Context) (Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.err != nil {
			return Message{}, r.err
		}
		if r.closed {
			return Message{}, fmt.Errorf("logbroker: next on %q: reader %w", r.channel, ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		// A truncation through this Kafka value may have passed us while
		// the records sat in the buffer.
		r.k.mu.Lock()
		t := r.k.trunc[r.channel]
		r.k.mu.Unlock()
		if r.pos < t {
			r.err = fmt.Errorf("logbroker: next on %q after %d (truncated up to %d): %w", r.channel, r.pos, t, ErrTruncated)
			return Message{}, r.err
		}
		if len(r.buf) > 0 {
			rec := r.buf[0]
			r.buf[0] = nil
			r.buf = r.buf[1:]
			id := MessageID(rec.Offset + 1)
			if id <= r.pos {
				continue // before a Read position past the end
			}
			if id > r.pos+1 {
				// IDs are contiguous (offset + 1; no compaction, no
				// transactions) and the client fetches from the offset
				// after the last record handed over, with no reset: a
				// gap is records gone under the reader. A fetch below
				// the log start fails (OffsetOutOfRange, below), so this
				// is a second guard that costs one comparison.
				r.err = fmt.Errorf("logbroker: next on %q after %d: message %d follows, %d missing: %w",
					r.channel, r.pos, id, id-r.pos-1, ErrTruncated)
				return Message{}, r.err
			}
			accept, err := r.fence(ctx, id, rec)
			if err != nil {
				r.buf = append([]*kgo.Record{rec}, r.buf...) // judged again by the next call
				return Message{}, err
			}
			r.pos = id
			if !accept {
				continue // a fenced writer's record: every reader skips it
			}
			return recordMessage(rec), nil
		}
		fetches := r.cl.PollRecords(ctx, 1000)
		if fetches.IsClientClosed() {
			return Message{}, fmt.Errorf("logbroker: next on %q: %w", r.channel, ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		for _, fe := range fetches.Errors() {
			switch {
			case errors.Is(fe.Err, kerr.OffsetOutOfRange):
				r.err = fmt.Errorf("logbroker: next on %q after %d: %w (%w)", r.channel, r.pos, ErrTruncated, fe.Err)
				return Message{}, r.err
			case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded):
				return Message{}, ctx.Err()
			default:
				// Retriable errors are retried by the client; anything it
				// hands us is worth reporting, and the reader goes on.
				return Message{}, fmt.Errorf("logbroker: next on %q: %w", r.channel, r.k.mapErr(fe.Err))
			}
		}
		fetches.EachRecord(func(rec *kgo.Record) { r.buf = append(r.buf, rec) })
	}
}

// recordMessage converts a record without its fence headers; the client
// does not reuse its buffers.
func recordMessage(rec *kgo.Record) Message {
	m := Message{ID: MessageID(rec.Offset + 1), Payload: rec.Value}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	for _, h := range rec.Headers {
		if h.Key == kafkaFenceHeader || h.Key == kafkaPrevHeader {
			continue
		}
		if m.Properties == nil {
			m.Properties = make(map[string]string, len(rec.Headers))
		}
		m.Properties[h.Key] = string(h.Value)
	}
	return m
}

// Close implements Reader: it closes the reader's client, which makes a
// Next blocked in another goroutine return ErrClosed.
func (r *kafkaReader) Close() error {
	r.closeCl.Do(func() {
		close(r.closing)
		r.cl.Close()
	})
	r.k.mu.Lock()
	delete(r.k.readers, r)
	r.k.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.buf = nil
	return nil
}

// Close implements Log: it closes every open reader (a blocked Next
// returns ErrClosed) and the client.
func (k *Kafka) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	readers := make([]*kafkaReader, 0, len(k.readers))
	for r := range k.readers {
		readers = append(readers, r)
	}
	k.mu.Unlock()
	for _, r := range readers {
		r.Close()
	}
	k.cl.Close()
	return nil
}

// kgoLogger sends franz-go's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (g kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (g kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	g.l.Log(context.Background(), lvl, msg, keyvals...)
}

// partitionReaderOpts are the options of a client that reads topic's one
// partition from offset from.
func (k *Kafka) partitionReaderOpts(topic string, from MessageID) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(k.cfg.Brokers...),
		kgo.WithLogger(kgoLogger{k.logger}),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(int64(from))}}),
		// A truncation that passes the reader makes its next fetch out
		// of range: report it (ErrTruncated) instead of silently
		// restarting at the oldest message.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchMaxPartitionBytes(int32(2 * k.topicMax)),
		// No KIP-714 client metrics from readers: a process has one per
		// physical channel it consumes, and each would push every
		// interval the broker asks (30 s on kfake) on a connection the
		// client has closed as idle (20 s) and must open again: most of
		// an idle query or data node's CPU on Kafka. The log's own
		// client, one per process, still reports.
		kgo.DisableClientMetrics(),
	}, k.cfg.Options...)
}
