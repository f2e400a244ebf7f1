package storage

import (
	"bytes"
	"errors"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// The fuzz targets decode each input twice: as given (almost every mutation
// fails a checksum) and resealed with fresh checksums, so mutations reach
// the structural checks. Decoding must never panic; whatever decodes must
// re-encode and decode to the same value.

func FuzzDecodeColumn(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		for _, nc := range sampleColumns(uint64(n+10), n) {
			f.Add(mustEncode(f, nc.col))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(data)} {
			c, err := DecodeColumn(in)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error does not wrap ErrCorrupt: %v", err)
				}
				continue
			}
			enc, err := EncodeColumn(c)
			if err != nil {
				t.Fatalf("decoded column does not encode: %v", err)
			}
			// Array rows are protobuf messages, which have many encodings;
			// every other type has exactly one.
			if c.DataType() != schemapb.DataType_Array && !bytes.Equal(enc, in) {
				t.Fatal("re-encoding changed the bytes")
			}
			c2, err := DecodeColumn(enc)
			if err != nil {
				t.Fatalf("re-encoded column does not decode: %v", err)
			}
			if err := columnsEqual(c, c2); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzDecodeDeltas(f *testing.F) {
	for _, d := range sampleDeltas()[:4] {
		enc, err := EncodeDeltas(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(data)} {
			d, err := DecodeDeltas(in)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error does not wrap ErrCorrupt: %v", err)
				}
				continue
			}
			enc, err := EncodeDeltas(d)
			if err != nil {
				t.Fatalf("decoded deltas do not encode: %v", err)
			}
			d2, err := DecodeDeltas(enc)
			if err != nil || !deltasEqual(d, d2) {
				t.Fatalf("re-encoded deltas differ (err %v)", err)
			}
			// An empty VarChar-keyed log re-encodes as Int64-keyed.
			if d.Len() > 0 && !bytes.Equal(enc, in) {
				t.Fatal("re-encoding changed the bytes")
			}
		}
	})
}

func FuzzDecodeStats(f *testing.F) {
	for _, st := range sampleStats() {
		enc, err := EncodeStats(st)
		if err != nil {
			f.Fatal(err)
		}
		if len(enc) < 4096 {
			f.Add(enc)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(data)} {
			st, err := DecodeStats(in)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error does not wrap ErrCorrupt: %v", err)
				}
				continue
			}
			st.MayContainInt(42)
			st.MayContainString("42")
			enc, err := EncodeStats(st)
			if err != nil {
				t.Fatalf("decoded stats do not encode: %v", err)
			}
			if !bytes.Equal(enc, in) {
				t.Fatal("re-encoding changed the bytes")
			}
			if _, err := MergeStats(st, st); err != nil {
				t.Fatalf("stats do not merge with themselves: %v", err)
			}
		}
	})
}

// FuzzDecodeOffsetMapping: an analyze task's offset mapping file either
// decodes to IDs under its centroid count (which encode to the same
// bytes) or fails with ErrCorrupt, never panics.
func FuzzDecodeOffsetMapping(f *testing.F) {
	f.Add(EncodeOffsetMapping(3, []uint32{0, 2, NoCentroid, 1}))
	f.Add(EncodeOffsetMapping(0, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(data)} {
			k, ids, err := DecodeOffsetMapping(in)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error does not wrap ErrCorrupt: %v", err)
				}
				continue
			}
			for _, id := range ids {
				if id != NoCentroid && int(id) >= k {
					t.Fatalf("centroid %d of %d", id, k)
				}
			}
			if enc := EncodeOffsetMapping(k, ids); !bytes.Equal(enc, in) {
				t.Fatal("re-encoding changed the bytes")
			}
		}
	})
}
