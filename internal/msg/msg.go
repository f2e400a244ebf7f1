// Package msg defines the messages Milvago writes to the log and their
// encoding. Every mutation is a message ("log as data"):
//
//   - Insert: rows for one segment of one virtual channel, all at one timestamp.
//   - Delete: primary keys deleted at one timestamp, collection-wide in the channel.
//   - Upsert: a delete and an insert of the same keys at one timestamp, in one
//     message so that a crash can never keep the delete without the insert.
//   - TimeTick: "everything up to TS has been written to this physical channel".
//   - Seal: "no more rows go to these segments": the data node flushes them when
//     it reads this message, which makes flushing deterministic on replay.
//   - FlushAll: a Seal of every virtual channel of a physical channel at once,
//     the message Milvus 2.6's FlushAll appends to every physical channel.
//
// Messages travel on physical channels; each carries its virtual channel so
// that consumers can demultiplex. The format is specified in docs/format/log.md.
package msg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"google.golang.org/protobuf/proto"
)

// Kind is the type of a log message.
type Kind uint8

// Message kinds. Values are part of the on-log format: never renumber.
const (
	KindInsert   Kind = 1
	KindDelete   Kind = 2
	KindUpsert   Kind = 3
	KindTimeTick Kind = 4
	KindSeal     Kind = 5
	KindFlushAll Kind = 6
)

func (k Kind) String() string {
	switch k {
	case KindInsert:
		return "insert"
	case KindDelete:
		return "delete"
	case KindUpsert:
		return "upsert"
	case KindTimeTick:
		return "timetick"
	case KindSeal:
		return "seal"
	case KindFlushAll:
		return "flushall"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("msg: malformed message")

// Message is one decoded log entry.
type Message struct {
	Kind     Kind
	VChannel string // empty for time ticks and FlushAll, which cover the whole physical channel
	TS       uint64
	Insert   *msgpb.InsertRequest // Insert, Upsert
	Delete   *msgpb.DeleteRequest // Delete, Upsert
	Seal     *Seal                // Seal
	FlushAll []ChannelSeal        // FlushAll
}

// Seal lists the segments sealed at a message's timestamp.
type Seal struct {
	CollectionID int64
	SegmentIDs   []int64
}

// ChannelSeal is what a FlushAll sealed in one virtual channel of its
// physical channel (SegmentIDs may be empty: the channel is flushed all
// the same).
type ChannelSeal struct {
	VChannel string
	Seal
}

// Property keys of the envelope.
const (
	propKind     = "k"
	propVChannel = "v"
	propTS       = "ts"
)

// Encode turns m into a log payload and properties.
func Encode(m *Message) ([]byte, map[string]string, error) {
	props := map[string]string{
		propKind: strconv.Itoa(int(m.Kind)),
		propTS:   strconv.FormatUint(m.TS, 10),
	}
	if m.VChannel != "" {
		props[propVChannel] = m.VChannel
	}
	var payload []byte
	switch m.Kind {
	case KindInsert:
		b, err := proto.Marshal(m.Insert)
		if err != nil {
			return nil, nil, fmt.Errorf("msg: encode insert: %w", err)
		}
		payload = b
	case KindDelete:
		b, err := proto.Marshal(m.Delete)
		if err != nil {
			return nil, nil, fmt.Errorf("msg: encode delete: %w", err)
		}
		payload = b
	case KindUpsert:
		ins, err := proto.Marshal(m.Insert)
		if err != nil {
			return nil, nil, fmt.Errorf("msg: encode upsert insert: %w", err)
		}
		del, err := proto.Marshal(m.Delete)
		if err != nil {
			return nil, nil, fmt.Errorf("msg: encode upsert delete: %w", err)
		}
		payload = binary.AppendUvarint(make([]byte, 0, len(ins)+len(del)+10), uint64(len(ins)))
		payload = append(payload, ins...)
		payload = append(payload, del...)
	case KindTimeTick:
	case KindSeal:
		payload = appendSeal(nil, m.Seal)
	case KindFlushAll:
		payload = binary.AppendUvarint(nil, uint64(len(m.FlushAll)))
		for i := range m.FlushAll {
			cs := &m.FlushAll[i]
			payload = binary.AppendUvarint(payload, uint64(len(cs.VChannel)))
			payload = append(payload, cs.VChannel...)
			payload = appendSeal(payload, &cs.Seal)
		}
	default:
		return nil, nil, fmt.Errorf("msg: encode unknown kind %d", m.Kind)
	}
	return payload, props, nil
}

// Decode parses a log payload and its properties.
func Decode(payload []byte, props map[string]string) (*Message, error) {
	k, err := strconv.ParseUint(props[propKind], 10, 8)
	if err != nil {
		return nil, fmt.Errorf("kind %q: %w", props[propKind], ErrMalformed)
	}
	ts, err := strconv.ParseUint(props[propTS], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q: %w", props[propTS], ErrMalformed)
	}
	m := &Message{Kind: Kind(k), TS: ts, VChannel: props[propVChannel]}
	switch m.Kind {
	case KindInsert:
		m.Insert = &msgpb.InsertRequest{}
		if err := proto.Unmarshal(payload, m.Insert); err != nil {
			return nil, fmt.Errorf("insert: %v: %w", err, ErrMalformed)
		}
	case KindDelete:
		m.Delete = &msgpb.DeleteRequest{}
		if err := proto.Unmarshal(payload, m.Delete); err != nil {
			return nil, fmt.Errorf("delete: %v: %w", err, ErrMalformed)
		}
	case KindUpsert:
		n, w := binary.Uvarint(payload)
		if w <= 0 || n > uint64(len(payload)-w) {
			return nil, fmt.Errorf("upsert length: %w", ErrMalformed)
		}
		m.Insert, m.Delete = &msgpb.InsertRequest{}, &msgpb.DeleteRequest{}
		if err := proto.Unmarshal(payload[w:w+int(n)], m.Insert); err != nil {
			return nil, fmt.Errorf("upsert insert: %v: %w", err, ErrMalformed)
		}
		if err := proto.Unmarshal(payload[w+int(n):], m.Delete); err != nil {
			return nil, fmt.Errorf("upsert delete: %v: %w", err, ErrMalformed)
		}
	case KindTimeTick:
	case KindSeal:
		s := &Seal{}
		if _, err := decodeSeal(payload, s); err != nil {
			return nil, err
		}
		m.Seal = s
	case KindFlushAll:
		n, w := binary.Uvarint(payload)
		if w <= 0 || n > uint64(len(payload)) {
			return nil, fmt.Errorf("flushall count: %w", ErrMalformed)
		}
		payload = payload[w:]
		m.FlushAll = make([]ChannelSeal, n)
		for i := range m.FlushAll {
			l, w := binary.Uvarint(payload)
			if w <= 0 || l > uint64(len(payload)-w) {
				return nil, fmt.Errorf("flushall vchannel: %w", ErrMalformed)
			}
			m.FlushAll[i].VChannel = string(payload[w : w+int(l)])
			if payload, err = decodeSeal(payload[w+int(l):], &m.FlushAll[i].Seal); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown kind %d: %w", k, ErrMalformed)
	}
	return m, nil
}

// appendSeal appends s's encoding: varint(collection), uvarint(n), then n
// varint(segment).
func appendSeal(b []byte, s *Seal) []byte {
	b = binary.AppendVarint(b, s.CollectionID)
	b = binary.AppendUvarint(b, uint64(len(s.SegmentIDs)))
	for _, id := range s.SegmentIDs {
		b = binary.AppendVarint(b, id)
	}
	return b
}

// decodeSeal decodes a seal at the start of b into s and returns the rest.
func decodeSeal(b []byte, s *Seal) ([]byte, error) {
	var w int
	s.CollectionID, w = binary.Varint(b)
	if w <= 0 {
		return nil, fmt.Errorf("seal collection: %w", ErrMalformed)
	}
	b = b[w:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("seal count: %w", ErrMalformed)
	}
	b = b[w:]
	for range n {
		id, w := binary.Varint(b)
		if w <= 0 {
			return nil, fmt.Errorf("seal segment: %w", ErrMalformed)
		}
		s.SegmentIDs = append(s.SegmentIDs, id)
		b = b[w:]
	}
	return b, nil
}

// Route returns a message's kind, virtual channel and timestamp from its
// properties alone, without decoding the payload: what a consumer needs to
// demultiplex a physical channel.
func Route(props map[string]string) (Kind, string, uint64, error) {
	k, err := strconv.ParseUint(props[propKind], 10, 8)
	if err != nil {
		return 0, "", 0, fmt.Errorf("kind %q: %w", props[propKind], ErrMalformed)
	}
	ts, err := strconv.ParseUint(props[propTS], 10, 64)
	if err != nil {
		return 0, "", 0, fmt.Errorf("timestamp %q: %w", props[propTS], ErrMalformed)
	}
	return Kind(k), props[propVChannel], ts, nil
}
