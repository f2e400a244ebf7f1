package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func sampleDeltas() []Deltas {
	r := rand.New(rand.NewPCG(1, 2))
	ints := Deltas{IntPKs: make([]int64, 1000), Timestamps: make([]uint64, 1000)}
	strs := Deltas{StrPKs: make([]string, 500), Timestamps: make([]uint64, 500)}
	for i := range ints.IntPKs {
		ints.IntPKs[i], ints.Timestamps[i] = int64(r.Uint64()), r.Uint64()
	}
	for i := range strs.StrPKs {
		strs.StrPKs[i], strs.Timestamps[i] = fmt.Sprintf("pk-%d-%s", i, randString(r)), r.Uint64()
	}
	return []Deltas{
		{},
		{IntPKs: []int64{-1}, Timestamps: []uint64{1 << 63}},
		{StrPKs: []string{""}, Timestamps: []uint64{7}},
		{StrPKs: []string{"a", "", "bcd"}, Timestamps: []uint64{3, 2, 1}},
		ints,
		strs,
	}
}

func deltasEqual(a, b Deltas) bool {
	return slices.Equal(a.IntPKs, b.IntPKs) && slices.Equal(a.StrPKs, b.StrPKs) && slices.Equal(a.Timestamps, b.Timestamps)
}

func TestDeltasRoundTrip(t *testing.T) {
	for i, d := range sampleDeltas() {
		enc, err := EncodeDeltas(d)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := DecodeDeltas(enc)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !deltasEqual(d, got) {
			t.Fatalf("%d: round trip changed the deltas", i)
		}
		if got.Len() != d.Len() {
			t.Fatalf("%d: Len %d, want %d", i, got.Len(), d.Len())
		}
		// The decoded deltas own their memory.
		if len(got.Timestamps) > 0 {
			got.Timestamps[0]++
			if got2, _ := DecodeDeltas(enc); got2.Timestamps[0] == got.Timestamps[0] {
				t.Fatalf("%d: decoded timestamps alias the input", i)
			}
		}
	}
}

func TestEncodeDeltasRejects(t *testing.T) {
	f := func(name string, d Deltas) {
		t.Helper()
		if _, err := EncodeDeltas(d); err == nil {
			t.Errorf("%s: encoded without error", name)
		}
	}
	f("both key types", Deltas{IntPKs: []int64{1}, StrPKs: []string{"a"}, Timestamps: []uint64{1}})
	f("short int keys", Deltas{IntPKs: []int64{1}, Timestamps: []uint64{1, 2}})
	f("short str keys", Deltas{StrPKs: []string{"a"}, Timestamps: []uint64{1, 2}})
	f("keys without timestamps", Deltas{IntPKs: []int64{1}})
}

func TestDecodeDeltasCorrupt(t *testing.T) {
	for i, d := range sampleDeltas()[:4] {
		enc, err := EncodeDeltas(d)
		if err != nil {
			t.Fatal(err)
		}
		for j := range enc {
			b := slices.Clone(enc)
			b[j] ^= 0x81
			if _, err := DecodeDeltas(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d: byte %d flipped: err = %v", i, j, err)
			}
			if _, err := DecodeDeltas(reseal(b)); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d: byte %d flipped and resealed: err = %v does not wrap ErrCorrupt", i, j, err)
			}
		}
		for n := range len(enc) {
			if _, err := DecodeDeltas(enc[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d: truncated to %d: err = %v", i, n, err)
			}
		}
	}
	// A binlog is not a delta log.
	if _, err := DecodeDeltas(mustEncode(t, sampleColumns(1, 3)[4].col)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("binlog decoded as deltas: %v", err)
	}
}
