package objstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/milvago/milvago/internal/objstore"
)

func BenchmarkLocal(b *testing.B) {
	s, err := objstore.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		data := make([]byte, size)
		b.Run(fmt.Sprintf("Put/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				if err := s.Put(ctx, fmt.Sprintf("bench/%d/%d", size, i%100), data); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("PutParallel8/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.SetParallelism(4) // 8 writers on 2 cores
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if err := s.Put(ctx, fmt.Sprintf("bench/p%d/%d", size, i%100), data); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(fmt.Sprintf("Get/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Get(ctx, fmt.Sprintf("bench/%d/0", size)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Map/%dKiB", size>>10), func(b *testing.B) {
			for b.Loop() {
				m, err := s.Map(ctx, fmt.Sprintf("bench/%d/0", size))
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
		})
	}
}
