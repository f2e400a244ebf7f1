package datacoord

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

// TestChannelsRefusalsMetric: each report refused from a data node that
// does not own the channel counts under its kind in the registry the
// process exports; reports from the owner and in-process calls do not.
func TestChannelsRefusalsMetric(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0", "p1")
	ch, err := NewChannels(ctx, ChannelsDeps{KV: kv.NewMemory(), Nodes: nodes, Collections: fakeCatalog{1: c1}.list, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{10}); err != nil {
		t.Fatal(err)
	}
	if err := ch.WatchCollection(ctx, c1); err != nil {
		t.Fatal(err)
	}
	vc := c1.VChannels[0]
	for _, r := range []Report{ReportFlush, ReportDeltaLog, ReportCheckpoint, ReportCheckpoint} {
		if err := ch.CheckOwner(contract.WithCaller(ctx, 11), r, vc); !errors.Is(err, errs.ErrChannelMisrouted) {
			t.Fatalf("%s from a node that does not own %s: %v", r, vc, err)
		}
	}
	if err := ch.CheckOwner(contract.WithCaller(ctx, 10), ReportSyncManifest, vc); err != nil {
		t.Fatalf("sync manifest from the owner: %v", err)
	}
	if err := ch.CheckOwner(ctx, ReportBufferedRows, vc); err != nil {
		t.Fatalf("in-process buffered rows: %v", err)
	}
	want := map[string]float64{"checkpoint": 2, "delta_log": 1, "flush": 1}
	if got := refusals(t, reg); !maps.Equal(got, want) {
		t.Fatalf("%s: %v, want %v", RefusalsMetric, got, want)
	}

	// A coordinator rebuilt in the same process keeps counting in the
	// registered counter.
	ch2, err := NewChannels(ctx, ChannelsDeps{KV: kv.NewMemory(), Nodes: nodes, Collections: fakeCatalog{1: c1}.list, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch2.SetNodes(ctx, []int64{10}); err != nil {
		t.Fatal(err)
	}
	if err := ch2.WatchCollection(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if err := ch2.CheckOwner(contract.WithCaller(ctx, 11), ReportFlush, vc); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("flush from a node that does not own %s: %v", vc, err)
	}
	want["flush"] = 2
	if got := refusals(t, reg); !maps.Equal(got, want) {
		t.Fatalf("%s after a rebuild: %v, want %v", RefusalsMetric, got, want)
	}
}

// refusals gathers RefusalsMetric from reg, by report.
func refusals(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != RefusalsMetric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "report" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
