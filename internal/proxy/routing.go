package proxy

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"

	"github.com/milvago/milvago/internal/column"
)

// shardOfInt64 routes an Int64 primary key as Milvus does: murmur3 (x86,
// 32-bit, seed 0) of the key's 8 little-endian bytes, modulo the shards.
func shardOfInt64(pk int64, shards int) int {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(pk))
	return int(murmur3Sum32(b[:]) % uint32(shards))
}

// shardOfString routes a VarChar primary key as Milvus does: CRC-32 (IEEE).
func shardOfString(pk string, shards int) int {
	return int(crc32.ChecksumIEEE([]byte(pk)) % uint32(shards))
}

// murmur3Sum32 is MurmurHash3 x86_32 with seed 0.
func murmur3Sum32(data []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(data) / 4
	for i := range n {
		k := binary.LittleEndian.Uint32(data[i*4:])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	tail := data[n*4:]
	var k uint32
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// shardRows groups row offsets by shard of their primary key.
func shardRows(pk column.Column, shards int) [][]int {
	out := make([][]int, shards)
	switch c := pk.(type) {
	case *column.Scalar[int64]:
		for i, v := range c.Data {
			s := shardOfInt64(v, shards)
			out[s] = append(out[s], i)
		}
	case *column.Scalar[string]:
		for i, v := range c.Data {
			s := shardOfString(v, shards)
			out[s] = append(out[s], i)
		}
	}
	return out
}
