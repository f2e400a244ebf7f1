package kv_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/milvago/milvago/internal/kv"
)

// BenchmarkEmbeddedStart measures a cold start of the embedded server.
func BenchmarkEmbeddedStart(b *testing.B) {
	for b.Loop() {
		e, err := kv.StartEmbedded(context.Background(), kv.EmbedConfig{Dir: b.TempDir()}, nil)
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

// BenchmarkStore compares the embedded server in-process ("etcd"), the
// same server through its unix socket as cluster mode would reach it
// ("etcd-socket"), and the in-memory fake.
func BenchmarkStore(b *testing.B) {
	e, err := kv.StartEmbedded(context.Background(), kv.EmbedConfig{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	sock, err := kv.NewEtcd(context.Background(), kv.EtcdConfig{Endpoints: []string{e.Endpoint()}, RootPath: "sock"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sock.Close()
	for _, tc := range []struct {
		name string
		s    kv.Store
	}{{"etcd", e.Client()}, {"etcd-socket", sock}, {"memory", kv.NewMemory()}} {
		ctx := context.Background()
		val := make([]byte, 256)
		b.Run(tc.name+"/Put", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := tc.s.Put(ctx, fmt.Sprintf("bench/%d", i%1000), val); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(tc.name+"/Get", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.s.Get(ctx, "bench/1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/CAS", func(b *testing.B) {
			b.ReportAllocs()
			rev, _ := tc.s.Put(ctx, "bench/cas", val)
			for b.Loop() {
				ok, err := tc.s.Txn(ctx, []kv.Cond{{Key: "bench/cas", Revision: rev}}, []kv.Op{{Key: "bench/cas", Value: val}})
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				rev++
			}
		})
		b.Run(tc.name+"/PutParallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := tc.s.Put(ctx, fmt.Sprintf("bench/p%d", i%1000), val); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
