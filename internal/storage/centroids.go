package storage

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// AnalyzeFilePrefix is where analyze tasks write their results (Milvus's
// analyze_stats): analyze_stats/{taskID}/{name}.
const AnalyzeFilePrefix = "analyze_stats"

// AnalyzeFilePath is the key of the file name written by analyze task
// taskID; with name "" it is the task's directory, ending in "/".
func AnalyzeFilePath(taskID int64, name string) string {
	return joinIDs(AnalyzeFilePrefix, taskID) + "/" + name
}

// CentroidsFile is the name of an analyze task's centroids file.
const CentroidsFile = "centroids"

var magicCentroids = [4]byte{'M', 'V', 'G', 'C'}

// maxCentroidsFileDim bounds the dimension a centroids file may declare.
const maxCentroidsFileDim = 32768

// EncodeCentroids writes k = len(centroids)/dim centroids of dim values
// (row-major) as a centroids file: the common 64-byte header (magic
// "MVGC", dim, rows = k) and k*dim little-endian float32 values
// (docs/format/centroids.md).
func EncodeCentroids(dim int, centroids []float32) []byte {
	k := 0
	if dim > 0 {
		k = len(centroids) / dim
	}
	out := make([]byte, headerSize+4*k*dim)
	payload := out[headerSize:]
	for i, v := range centroids[:k*dim] {
		binary.LittleEndian.PutUint32(payload[4*i:], math.Float32bits(v))
	}
	putHeader(out, header{magic: magicCentroids, dim: int64(dim), rows: int64(k),
		payloadLen: uint64(len(payload)), payloadCRC: crc32.Checksum(payload, castagnoli)})
	return out
}

// DecodeCentroids reads a centroids file: the dimension and the centroids,
// row-major. A file that is not one wraps ErrCorrupt.
func DecodeCentroids(data []byte) (int, []float32, error) {
	h, err := readHeader(data, magicCentroids)
	if err != nil {
		return 0, nil, err
	}
	if h.dim <= 0 || h.dim > maxCentroidsFileDim {
		return 0, nil, corruptf("centroids of dimension %d", h.dim)
	}
	if h.payloadLen != uint64(h.rows)*uint64(h.dim)*4 {
		return 0, nil, corruptf("%d centroids of dimension %d in %d bytes", h.rows, h.dim, h.payloadLen)
	}
	payload := data[headerSize:]
	out := make([]float32, h.rows*h.dim)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(payload[4*i:]))
	}
	return int(h.dim), out, nil
}
