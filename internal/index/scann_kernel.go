package index

// SCANN's "fast scan": the 4-bit PQ codes of a list are stored in blocks of
// 32 vectors, and the per-query distance table of each sub-quantizer (16
// entries) is quantized to uint8 so that one table fits a 128-bit register
// lane. A block is scanned with byte shuffles (AVX2 VPSHUFB: 32 look-ups per
// instruction) and the looked-up bytes are summed in uint16 lanes with
// saturating adds. This is FAISS's IndexIVFPQFastScan scheme, which
// Knowhere's SCANN builds on.
//
// Block layout (fsBlockVecs vectors, m2 = ceil(m/2) sub-quantizer pairs):
// for pair p the block holds 32 bytes, byte v of which packs vector v's code
// for sub-quantizer 2p in its low nibble and for 2p+1 in its high nibble.
// A block is m2*32 bytes; a list of c vectors takes ceil(c/32) blocks, the
// unused slots of its last block hold code 0 and are never reported.
//
// Table layout: 2*m2 tables of 32 bytes, table j holding the 16 quantized
// entries of sub-quantizer j twice (once per 128-bit lane); the table of the
// padding sub-quantizer of an odd m is all zeros.
//
// The result of a block is 32 uint16: min(65535, sum over j of
// table[j][code_j(v)]) for vector v. All addends are non-negative, so
// saturating at every step equals saturating once at the end, whatever the
// order: the assembly and the Go kernel agree exactly.

const (
	fsBlockVecs  = 32 // vectors per block
	fsTableBytes = 32 // bytes per sub-quantizer table (16 entries, twice)
)

// fsPairs is the number of sub-quantizer pairs for m sub-quantizers.
func fsPairs(m int) int { return (m + 1) / 2 }

// fsBlockBytes is the size of one block of codes.
func fsBlockBytes(m int) int { return fsPairs(m) * fsBlockVecs }

// fsPack writes the codes of up to 32 vectors (codes[v*m+j] in 0..15, one
// byte per sub-quantizer) into one block.
func fsPack(codes []byte, count, m int, block []byte) {
	clear(block)
	for v := range count {
		c := codes[v*m : (v+1)*m]
		for j, x := range c {
			b := &block[(j/2)*fsBlockVecs+v]
			if j&1 == 0 {
				*b |= x & 15
			} else {
				*b |= (x & 15) << 4
			}
		}
	}
}

// fsUnpack returns the code of vector v (0..31) of a block for
// sub-quantizer j: the inverse of fsPack.
func fsUnpack(block []byte, v, j int) byte {
	b := block[(j/2)*fsBlockVecs+v]
	if j&1 == 0 {
		return b & 15
	}
	return b >> 4
}

// fsScan scores nblocks consecutive blocks of codes against the quantized
// tables lut (2*m2 tables) into out (nblocks*32 values).
func fsScan(codes, lut []byte, nblocks, m2 int, out []uint16) {
	if nblocks == 0 {
		return
	}
	_ = codes[nblocks*m2*fsBlockVecs-1]
	_ = lut[2*m2*fsTableBytes-1]
	_ = out[nblocks*fsBlockVecs-1]
	if fsHasAVX2 {
		fsScanAVX2(&codes[0], &lut[0], nblocks, m2, &out[0])
		return
	}
	fsScanGo(codes, lut, nblocks, m2, out)
}

// fsScanGo is the portable kernel and the specification of fsScanAVX2.
func fsScanGo(codes, lut []byte, nblocks, m2 int, out []uint16) {
	var acc [fsBlockVecs]uint32
	for b := range nblocks {
		clear(acc[:])
		blk := codes[b*m2*fsBlockVecs : (b+1)*m2*fsBlockVecs]
		for p := range m2 {
			c := blk[p*fsBlockVecs : (p+1)*fsBlockVecs : (p+1)*fsBlockVecs]
			lo := lut[2*p*fsTableBytes : 2*p*fsTableBytes+16 : 2*p*fsTableBytes+16]
			hi := lut[(2*p+1)*fsTableBytes : (2*p+1)*fsTableBytes+16 : (2*p+1)*fsTableBytes+16]
			for v, x := range c {
				acc[v] += uint32(lo[x&15]) + uint32(hi[x>>4])
			}
		}
		o := out[b*fsBlockVecs : (b+1)*fsBlockVecs]
		for v, a := range acc {
			o[v] = uint16(min(a, 65535))
		}
	}
}
