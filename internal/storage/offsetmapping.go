package storage

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"strconv"
)

// OffsetMappingFile is the name of an analyze task's per-segment
// row-to-centroid mapping (Milvus's offset_mapping), written beside the
// centroids file as analyze_stats/{taskID}/{segmentID}/offset_mapping.
const OffsetMappingFile = "offset_mapping"

// OffsetMappingPath is the key of analyze task taskID's mapping file for
// segment segmentID.
func OffsetMappingPath(taskID, segmentID int64) string {
	return AnalyzeFilePath(taskID, strconv.FormatInt(segmentID, 10)+"/"+OffsetMappingFile)
}

// NoCentroid is the mapping of a row that has no centroid (its key is
// null).
const NoCentroid = math.MaxUint32

var magicOffsetMapping = [4]byte{'M', 'V', 'G', 'O'}

// EncodeOffsetMapping writes a segment's row-to-centroid mapping: the
// common 64-byte header (magic "MVGO", dim = k, the number of centroids
// the IDs index, rows = the segment's rows) and one little-endian uint32
// centroid ID per row of the segment's binlog, in row order, NoCentroid
// for a null key (docs/format/centroids.md).
func EncodeOffsetMapping(k int, ids []uint32) []byte {
	out := make([]byte, headerSize+4*len(ids))
	payload := out[headerSize:]
	for i, id := range ids {
		binary.LittleEndian.PutUint32(payload[4*i:], id)
	}
	putHeader(out, header{magic: magicOffsetMapping, dim: int64(k), rows: int64(len(ids)),
		payloadLen: uint64(len(payload)), payloadCRC: crc32.Checksum(payload, castagnoli)})
	return out
}

// DecodeOffsetMapping reads a mapping file: the number of centroids and
// the centroid ID of each row. A file that is not one, or that names a
// centroid outside [0, k), wraps ErrCorrupt.
func DecodeOffsetMapping(data []byte) (int, []uint32, error) {
	h, err := readHeader(data, magicOffsetMapping)
	if err != nil {
		return 0, nil, err
	}
	if h.flags != 0 || h.dataType != 0 || h.elemType != 0 {
		return 0, nil, corruptf("offset mapping with flags %d, data type %d, element type %d", h.flags, h.dataType, h.elemType)
	}
	if h.dim < 0 || h.dim >= NoCentroid || h.rows < 0 {
		return 0, nil, corruptf("offset mapping of %d rows to %d centroids", h.rows, h.dim)
	}
	if h.payloadLen != uint64(h.rows)*4 {
		return 0, nil, corruptf("offset mapping of %d rows in %d bytes", h.rows, h.payloadLen)
	}
	payload := data[headerSize:]
	out := make([]uint32, h.rows)
	for i := range out {
		id := binary.LittleEndian.Uint32(payload[4*i:])
		if id != NoCentroid && int64(id) >= h.dim {
			return 0, nil, corruptf("offset mapping row %d: centroid %d of %d", i, id, h.dim)
		}
		out[i] = id
	}
	return int(h.dim), out, nil
}
