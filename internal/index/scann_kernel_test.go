package index

import (
	"math/rand/v2"
	"testing"
)

// The AVX2 fast-scan kernel and the Go kernel agree exactly on random
// codes and tables, for odd and even m, one and many blocks, and tables
// large enough to saturate the 16-bit sums; and both equal the direct sum
// over the unpacked codes.
func TestFastScanKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{1, 2, 3, 8, 25, 50, 64, 392, 700} {
		for _, nblocks := range []int{1, 2, 7} {
			m2 := fsPairs(m)
			n := nblocks*fsBlockVecs - r.IntN(fsBlockVecs)
			codes := make([]byte, n*m)
			for i := range codes {
				codes[i] = byte(r.IntN(16))
			}
			packed := make([]byte, nblocks*fsBlockBytes(m))
			for b := range nblocks {
				cnt := min(fsBlockVecs, n-b*fsBlockVecs)
				fsPack(codes[b*fsBlockVecs*m:], cnt, m, packed[b*fsBlockBytes(m):(b+1)*fsBlockBytes(m)])
			}
			lut := make([]byte, 2*m2*fsTableBytes)
			for j := range m {
				for k := range 16 {
					v := byte(r.IntN(256))
					lut[j*fsTableBytes+k], lut[j*fsTableBytes+16+k] = v, v
				}
			}
			want := make([]uint16, nblocks*fsBlockVecs)
			fsScanGo(packed, lut, nblocks, m2, want)
			for v := range n {
				var s int
				for j := range m {
					c := fsUnpack(packed[(v/fsBlockVecs)*fsBlockBytes(m):], v%fsBlockVecs, j)
					if c != codes[v*m+j] {
						t.Fatalf("m=%d v=%d j=%d: unpacked %d, packed %d", m, v, j, c, codes[v*m+j])
					}
					s += int(lut[j*fsTableBytes+int(c)])
				}
				if got := want[v]; got != uint16(min(s, 65535)) {
					t.Fatalf("m=%d v=%d: Go kernel %d, direct sum %d", m, v, got, s)
				}
			}
			if !fsHasAVX2 {
				continue
			}
			got := make([]uint16, nblocks*fsBlockVecs)
			fsScanAVX2(&packed[0], &lut[0], nblocks, m2, &got[0])
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("m=%d blocks=%d slot %d: AVX2 %d, Go %d", m, nblocks, i, got[i], want[i])
				}
			}
		}
	}
	if !fsHasAVX2 {
		t.Log("no AVX2 on this CPU: only the Go kernel was checked")
	}
}

func BenchmarkFastScan(b *testing.B) {
	const m, nblocks = 50, 32
	m2 := fsPairs(m)
	codes := make([]byte, nblocks*fsBlockBytes(m))
	lut := make([]byte, 2*m2*fsTableBytes)
	for i := range codes {
		codes[i] = byte(i * 7)
	}
	for i := range lut {
		lut[i] = byte(i % 97)
	}
	out := make([]uint16, nblocks*fsBlockVecs)
	for _, k := range []struct {
		name string
		fn   func()
	}{
		{"go", func() { fsScanGo(codes, lut, nblocks, m2, out) }},
		{"dispatch", func() { fsScan(codes, lut, nblocks, m2, out) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(codes)))
			for b.Loop() {
				k.fn()
			}
		})
	}
}

// A whole search gives the same answer on the Go kernel as on AVX2.
func TestSCANNSearchKernelsAgree(t *testing.T) {
	if !fsHasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	const n, d = 1500, 24
	data := clusteredFloats(71, n, d, 15)
	queries := clusteredFloats(72, 30, d, 15)
	for _, m := range []Metric{L2, IP} {
		idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: m, Dim: d, Params: map[string]string{"nlist": "8", "with_raw_data": "false"}}, Dataset{Dim: d, Float: data})
		p := SearchParams{K: 10, Params: map[string]string{"nprobe": "3", "reorder_k": "30"}}
		want := scannSearch(t, idx, queries, d, p)
		fsHasAVX2 = false
		got := scannSearch(t, idx, queries, d, p)
		fsHasAVX2 = true
		for i := range want.Labels {
			if got.Labels[i] != want.Labels[i] || got.Distances[i] != want.Distances[i] {
				t.Fatalf("%s slot %d: Go kernel %d/%g, AVX2 %d/%g", m, i, got.Labels[i], got.Distances[i], want.Labels[i], want.Distances[i])
			}
		}
	}
}
